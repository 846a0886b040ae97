"""The worker's ASGI app: health and metrics endpoints; the consumer runs in its lifespan."""

from litestar import Litestar, MediaType, Response, get

from tessera_otp_delivery.bootstrap import CATALOGS, lifespan
from tessera_otp_delivery.config import OtpDeliverySettings, load_settings
from tessera_otp_delivery.metrics import DeliveryMetrics
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks

NAME = "tessera-otp-delivery"


def create_app(settings: OtpDeliverySettings | None = None) -> Litestar:
    settings = settings or load_settings()
    health = HealthChecks()
    metrics = DeliveryMetrics()

    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def prometheus() -> Response[bytes]:
        return Response(metrics.exposition(), media_type=MediaType.TEXT)

    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera OTP delivery",
        route_handlers=[prometheus],
        lifespan=[lifespan(settings, health, metrics)],
        health=health,
        catalogs=[CATALOGS],
    )
