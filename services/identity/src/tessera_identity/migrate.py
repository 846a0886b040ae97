"""Schema migrations with yoyo: plain SQL files in `migrations/`, applied under a lock."""

from pathlib import Path

from yoyo import get_backend, read_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(database_url: str) -> int:
    """Apply pending migrations; returns how many were applied. Safe to run concurrently."""
    backend = get_backend(_yoyo_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return len(pending)
    finally:
        backend.connection.close()


def _yoyo_url(url: str) -> str:
    # yoyo picks the driver from the scheme; psycopg 3 is "postgresql+psycopg".
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url
