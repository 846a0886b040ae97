"""The gateway ASGI app (granian calls `create_app`)."""

from pathlib import Path

from litestar import Litestar

from tessera_gateway.bootstrap import lifespan
from tessera_gateway.config import GatewaySettings, load_settings
from tessera_gateway.cors import cors_middleware
from tessera_gateway.metrics import route_label
from tessera_gateway.oauth_routes import authorization_server_metadata, introspect
from tessera_gateway.openapi import docs_assets, docs_page, openapi_document
from tessera_gateway.proxy import forward
from tessera_gateway.security_headers import security_headers_middleware
from tessera_shared.http.app import build_app
from tessera_shared.http.health import HealthChecks
from tessera_shared.metrics import MetricsConfig

NAME = "tessera-gateway"
CATALOGS = Path(__file__).parent / "locales"


def create_app(settings: GatewaySettings | None = None) -> Litestar:
    settings = settings or load_settings()
    health = HealthChecks()
    edge = settings.edge  # checked once: by `load_settings`, or here for settings made in code
    return build_app(
        name=NAME,
        settings=settings,
        title="Tessera",
        route_handlers=[
            openapi_document,
            docs_page,
            docs_assets(),
            introspect,
            authorization_server_metadata,
            forward,
        ],
        lifespan=[lifespan(settings, health)],
        health=health,
        catalogs=[CATALOGS],
        request_max_body_size=settings.max_body_bytes,
        body_read_timeout_s=settings.body_read_timeout_s,
        state={
            "trusted_proxies": edge.trusted_proxies,
            "public_url": edge.public_url,
            "token_issuer": settings.token_issuer,
        },
        asgi_middleware=[
            cors_middleware(edge.cors),
            security_headers_middleware(edge.trusted_proxies),
        ],
        # The public entry: /metrics only with the token, and absent without one.
        metrics=MetricsConfig(token=settings.metrics_token, route_label=route_label),
    )
