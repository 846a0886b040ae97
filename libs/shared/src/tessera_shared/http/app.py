"""Assembles a part's litestar app with the shared error model, i18n, request ids and health."""

import gc
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, ControllerRouterHandler

from tessera_shared.http.allow import allow_middleware, methods_by_path
from tessera_shared.http.body_guard import body_guard
from tessera_shared.http.docs import RedocPage
from tessera_shared.http.errors import EXCEPTION_HANDLERS, handle_unavailable
from tessera_shared.http.field_docs import document_loaded_structs
from tessera_shared.http.health import HealthChecks, health_routes
from tessera_shared.http.middleware import request_id_middleware
from tessera_shared.http.openapi import FinishedJson
from tessera_shared.http.request import TesseraRequest
from tessera_shared.i18n import SHARED_CATALOGS, Translator
from tessera_shared.logging import configure_logging
from tessera_shared.metrics import (
    OPEN_METRICS,
    MetricsConfig,
    http_metrics_middleware,
    metrics_routes,
)
from tessera_shared.settings import ServiceSettings
from tessera_shared.telemetry import setup_tracing

Lifespan = Callable[[Litestar], AbstractAsyncContextManager[None]]


def build_app(
    *,
    name: str,
    settings: ServiceSettings,
    title: str,
    route_handlers: Sequence[ControllerRouterHandler],
    lifespan: Sequence[Lifespan] = (),
    health: HealthChecks,
    catalogs: Sequence[Path] = (),
    request_max_body_size: int = 64 * 1024,
    body_read_timeout_s: float = 10.0,
    state: dict[str, Any] | None = None,
    dependencies: dict[str, Any] | None = None,
    unavailable_when: tuple[type[Exception], ...] = (),
    asgi_middleware: Sequence[Callable[[ASGIApp], ASGIApp]] = (),
    metrics: MetricsConfig = OPEN_METRICS,
) -> Litestar:
    """One litestar app with Tessera's cross-cutting behaviour wired in.

    `unavailable_when`: exceptions that mean a dependency is briefly gone (a lost database
    connection); they answer 503 with Retry-After instead of 500.
    `asgi_middleware`: wrappers around the whole app, first innermost, inside the request id
    (so their own answers, e.g. CORS preflights, carry one and are logged).
    `metrics`: who may read `GET /metrics` (open by default) and the request metrics' routes.
    `body_read_timeout_s`: how long a request body may take to arrive (`body_guard`) before 408.
    """
    configure_logging(name, settings.log_level)
    document_loaded_structs()  # field docstrings into the OpenAPI document
    plugins: list[Any] = []
    if setup_tracing(name, settings.otel_exporter, settings.otel_endpoint):
        from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

        plugins.append(OpenTelemetryPlugin(OpenTelemetryConfig()))
    app = Litestar(
        route_handlers=[*health_routes(), *metrics_routes(metrics), *route_handlers],
        lifespan=list(lifespan),
        on_startup=[freeze_startup_heap],  # after the lifespans: what they made stays too
        exception_handlers={
            **EXCEPTION_HANDLERS,
            **dict.fromkeys(unavailable_when, handle_unavailable),
        },
        dependencies=dependencies,
        plugins=plugins,
        request_max_body_size=request_max_body_size,
        request_class=TesseraRequest,
        # Served finished: Tessera's error answers and the headers each route reads; the JSON
        # stays at /schema and /schema/openapi.json, a page reads it at /schema/redoc.
        openapi_config=OpenAPIConfig(
            title=title,
            version="1.0.0",
            path="/schema",
            render_plugins=[FinishedJson(), RedocPage()],
        ),
        state=State(
            {
                "health": health,
                "translator": Translator([SHARED_CATALOGS, *catalogs]),
                **(state or {}),
            }
        ),
        debug=False,
        logging_config=None,  # ours (JSON) is set up above; litestar's would replace it
    )
    # Wrapped around the whole app (like litestar's own CORS), not as route middleware, so
    # 404/405 answers from the router carry a request id and are logged too.
    handler = allow_middleware(app.asgi_handler, methods_by_path(app))
    handler = body_guard(body_read_timeout_s)(handler)
    for wrap in asgi_middleware:
        handler = wrap(handler)
    handler = http_metrics_middleware(handler, name, metrics.route_label)
    app.asgi_handler = request_id_middleware(handler)
    return app


def freeze_startup_heap() -> None:
    """Moves what start-up left alive (modules, the app, its routes, pools) out of the garbage
    collector's sight: it lives as long as the process, yet every full collection walked it
    again (~5 % of a proxied request's CPU in the gateway's profile under load)."""
    gc.collect()
    gc.freeze()
