"""The worker's ASGI app: health and metrics endpoints; the consumer runs in its lifespan."""

from litestar import Litestar

from tessera_otp_delivery.bootstrap import CATALOGS, lifespan
from tessera_otp_delivery.config import OtpDeliverySettings, load_settings
from tessera_otp_delivery.metrics import DeliveryMetrics
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.metrics import MetricsConfig

NAME = "tessera-otp-delivery"


def create_app(settings: OtpDeliverySettings | None = None) -> Litestar:
    settings = settings or load_settings()
    health = HealthChecks()
    metrics = DeliveryMetrics()
    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera OTP delivery",
        route_handlers=[],
        lifespan=[lifespan(settings, health, metrics)],
        health=health,
        catalogs=[CATALOGS],
        metrics=MetricsConfig(registries=(metrics.registry,)),
    )
