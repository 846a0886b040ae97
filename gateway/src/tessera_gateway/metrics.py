"""The gateway's counters for Prometheus, and the `route` label of forwarded requests.

`GET /metrics` needs `Authorization: Bearer <METRICS_TOKEN>`; without a token configured it
answers 404 like any path the gateway does not route (the gateway is the public entry).
"""

from typing import get_args

from litestar.types import Scope
from prometheus_client import Counter

from tessera_gateway.routes import GROUPS, Upstream, prefix_of
from tessera_shared.errors import Code
from tessera_shared.metrics import UNMATCHED, route_template

FORWARD_TEMPLATE = "/{path}"
"""The template of the catch-all route forwarding to the services (`proxy.forward`)."""
UPSTREAM_ERROR_CODES = (Code.BAD_GATEWAY, Code.SERVICE_UNAVAILABLE, Code.GATEWAY_TIMEOUT)

RATE_LIMITED = Counter(
    "tessera_rate_limited",
    "Requests answered 429 by the gateway's rate limits, by route group",
    ["group"],
)
UPSTREAM_ERRORS = Counter(
    "tessera_upstream_errors",
    "Answers 502/503/504 of the gateway itself: a service was unreachable, slow or broken",
    ["upstream", "code"],
)

# Every series exists from the start, so rates and alerts work before the first event.
for _group in GROUPS:
    RATE_LIMITED.labels(_group)
for _upstream in get_args(Upstream):
    for _code in UPSTREAM_ERROR_CODES:
        UPSTREAM_ERRORS.labels(_upstream, _code)


def route_label(scope: Scope) -> str:
    """The route template, and for forwarded requests the routing prefix that matched
    (`/v1/users/*`): the catch-all's own template would name every forwarded path alike."""
    template = route_template(scope)
    if template != FORWARD_TEMPLATE:
        return template
    prefix = prefix_of(scope["path"])
    return f"{prefix}*" if prefix else UNMATCHED
