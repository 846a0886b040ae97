"""The session ASGI app (granian calls `create_app`)."""

from pathlib import Path

from litestar import Litestar

from tessera_session.bootstrap import lifespan
from tessera_session.config import SessionSettings, load_settings
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks

NAME = "tessera-session"
CATALOGS = Path(__file__).parent / "locales"


def create_app(settings: SessionSettings | None = None) -> Litestar:
    settings = settings or load_settings()
    health = HealthChecks()
    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera session",
        route_handlers=[],
        lifespan=[lifespan(settings, health)],
        health=health,
        catalogs=[CATALOGS],
    )
