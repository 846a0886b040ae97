"""Session settings, from `TESSERA_SESSION_*` environment variables."""

from tessera_shared.config import load_config
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_SESSION_"


class SessionSettings(ServiceSettings, kw_only=True, frozen=True):
    port: Port = 8002
    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis holding refresh families and revoked sessions (persistence on in production)."""
    redis_key_prefix: str = "tessera:"
    """Prefix of every key this service writes, so several deployments can share a Redis."""


def load_settings() -> SessionSettings:
    return load_config(SessionSettings, PREFIX)
