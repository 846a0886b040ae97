"""The worker's ASGI app: health endpoints, with the consumer running in its lifespan."""

from pathlib import Path

from litestar import Litestar

from tessera_otp_delivery.bootstrap import lifespan
from tessera_otp_delivery.config import OtpDeliverySettings, load_settings
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks

NAME = "tessera-otp-delivery"
CATALOGS = Path(__file__).parent / "locales"


def create_app(settings: OtpDeliverySettings | None = None) -> Litestar:
    settings = settings or load_settings()
    health = HealthChecks()
    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera OTP delivery",
        route_handlers=[],
        lifespan=[lifespan(settings, health)],
        health=health,
        catalogs=[CATALOGS],
    )
