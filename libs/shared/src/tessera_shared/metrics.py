"""Prometheus metrics every HTTP part shares: requests by route template, and `GET /metrics`.

Counters are prometheus_client objects in the process-wide default registry, declared in one
small `metrics.py` per part. Labels are bounded: `route` is the template of the route that
answered (`/v1/sessions/{session_id}`), never the raw path, and `method` is one of the standard
methods or `other`. With granian's `WORKERS` > 1 each worker process has its own registry and a
scrape reads whichever worker answers it: run one worker per container, scale by replicas.
"""

import hmac
import time
from collections.abc import Callable

import msgspec
from litestar import Request, Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

from tessera_shared.errors import Code, TesseraError
from tessera_shared.tokens.bearer import (
    INVALID_TOKEN_CHALLENGE,
    MISSING_TOKEN_CHALLENGE,
    bearer_token,
)

UNMATCHED = "unmatched"
"""`route` of a request no route answered (404, 405): one series however many paths are tried."""
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probes and scrapes arrive at a fixed pace whatever the traffic: counted, they would swamp the
# request rate and latency of the API. Whether they answer is what Prometheus and kubelet see.
NOT_MEASURED = frozenset({"/metrics", "/health/live", "/health/ready"})
MEDIA_TYPE = "text/plain; version=0.0.4"
"""The classic text format, which every Prometheus reads (litestar appends the charset)."""
BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Seconds: from a JWKS read from memory (~1 ms) to the gateway's upstream timeout (10 s)."""

REQUESTS = Counter(
    "tessera_http_requests",
    "HTTP requests answered, by route template and status",
    ["service", "method", "route", "status"],
)
DURATION = Histogram(
    "tessera_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer",
    ["service", "method", "route"],
    buckets=BUCKETS,
)

RouteLabel = Callable[[Scope], str]


def route_template(scope: Scope) -> str:
    """The template of the route that answered `scope`, once routed; `unmatched` if none did."""
    template = scope.get("path_template")
    return template if isinstance(template, str) and template else UNMATCHED


class MetricsConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How a part serves `GET /metrics` and names the routes in its request metrics."""

    token: str | None = None
    """None: open to anyone who reaches the port (internal parts); "": not served at all (404,
    like any unknown path); otherwise only with `Authorization: Bearer <token>`."""
    registries: tuple[CollectorRegistry, ...] = ()
    """Exposed after the process-wide registry (otp-delivery keeps its counters per worker)."""
    route_label: RouteLabel = route_template
    """The `route` label of an answered request; must give a small, fixed set of values."""


OPEN_METRICS = MetricsConfig()


def http_metrics_middleware(app: ASGIApp, service: str, route_label: RouteLabel) -> ASGIApp:
    """Counts and times every HTTP request but probes and scrapes (`NOT_MEASURED`)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers when the app fails before it sent anything

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        def record() -> None:
            route = route_label(scope)  # after the app: the router has filled in the template
            if route in NOT_MEASURED:
                return
            sent = str(scope.get("method", ""))
            method = sent if sent in METHODS else "other"
            REQUESTS.labels(service, method, route, str(status)).inc()
            DURATION.labels(service, method, route).observe(time.perf_counter() - started)

        # A cancelled request (server shutting down) had no answer and is not counted.
        try:
            await app(scope, receive, send_noting_status)
        except Exception:
            record()
            raise
        record()

    return middleware


def exposition(registries: tuple[CollectorRegistry, ...] = ()) -> bytes:
    """The text exposition format (0.0.4) of the default registry and then `registries`."""
    return b"".join(generate_latest(r) for r in (REGISTRY, *registries))


def metrics_routes(config: MetricsConfig) -> list[HTTPRouteHandler]:
    """`GET /metrics` as `config` says; none when its token is ""."""
    if config.token == "":
        return []

    @get("/metrics", include_in_schema=False, cache_control=None, sync_to_thread=False)
    def metrics(request: Request[object, object, State]) -> Response[bytes]:
        if config.token is not None:
            _require_bearer(request.headers.get("authorization"), config.token)
        return Response(
            exposition(config.registries),
            media_type=MEDIA_TYPE,
            headers={"cache-control": "no-store"},
        )

    return [metrics]


def _require_bearer(authorization: str | None, expected: str) -> None:
    """401 unless `authorization` is `Bearer <expected>`, compared in constant time."""
    given = bearer_token(authorization)
    if given is None:
        raise TesseraError(Code.UNAUTHORIZED, headers={"www-authenticate": MISSING_TOKEN_CHALLENGE})
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise TesseraError(Code.UNAUTHORIZED, headers={"www-authenticate": INVALID_TOKEN_CHALLENGE})
