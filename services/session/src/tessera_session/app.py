"""The session ASGI app (granian calls `create_app`)."""

from pathlib import Path

from litestar import Litestar

from tessera_session.api.auth_surface import AuthController
from tessera_session.api.internal import InternalController
from tessera_session.api.keys import jwks
from tessera_session.api.mfa import MfaController
from tessera_session.api.sessions import SessionController
from tessera_session.bootstrap import DEPENDENCIES, lifespan, load_keys
from tessera_session.config import SessionSettings, load_settings
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.redis import UNAVAILABLE

NAME = "tessera-session"
CATALOGS = Path(__file__).parent / "locales"


def create_app(settings: SessionSettings | None = None) -> Litestar:
    settings = settings or load_settings()
    health = HealthChecks()
    keys = load_keys(settings)
    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera session",
        route_handlers=[
            SessionController,
            MfaController,
            AuthController,
            InternalController,
            jwks,
        ],
        lifespan=[lifespan(settings, health, keys)],
        health=health,
        catalogs=[CATALOGS],
        dependencies=DEPENDENCIES,
        state={"settings": settings, "keys": keys, "internal_token": settings.internal_token},
        unavailable_when=UNAVAILABLE,
    )
