"""The gateway ASGI app (granian calls `create_app`)."""

from pathlib import Path

from litestar import Litestar

from tessera_gateway.bootstrap import lifespan
from tessera_gateway.config import GatewaySettings, load_settings
from tessera_gateway.proxy import forward
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks

NAME = "tessera-gateway"
CATALOGS = Path(__file__).parent / "locales"


def create_app(settings: GatewaySettings | None = None) -> Litestar:
    settings = settings or load_settings()
    health = HealthChecks()
    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera",
        route_handlers=[forward],
        lifespan=[lifespan(settings, health)],
        health=health,
        catalogs=[CATALOGS],
        request_max_body_size=settings.max_body_bytes,
    )
