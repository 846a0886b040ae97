"""Forwards a public request to its upstream and relays the answer."""

import math
from collections.abc import Iterable

from litestar import Request, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.exceptions import ClientException, InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.response.base import ASGIResponse

from tessera_gateway.adapters.http1 import (
    UpstreamBroken,
    UpstreamTimeout,
    UpstreamUnreachable,
    exchange,
)
from tessera_gateway.adapters.upstream import Answer
from tessera_gateway.api_keys import ApiKeyRecord, admin_headers
from tessera_gateway.bodies import check_body
from tessera_gateway.checks import check_admin, check_api_key, check_bearer
from tessera_gateway.client_ip import client_ip_of, scheme_in_scope
from tessera_gateway.metrics import UPSTREAM_ERRORS
from tessera_gateway.routes import Upstream, route_of
from tessera_gateway.throttle import rate_limit, with_rate_limit_headers
from tessera_shared.context import request_id_var
from tessera_shared.contracts.internal import INTERNAL_TOKEN_HEADER
from tessera_shared.contracts.session_state import SESSION_STATE_HEADERS, session_state_body
from tessera_shared.errors import Code, TesseraError
from tessera_shared.http.body_guard import has_body
from tessera_shared.telemetry import trace_headers

# Never x-admin-* nor x-internal-token: the gateway writes those itself (`relay`), the services
# believe them, and a client must not.
FORWARDED_REQUEST_HEADERS = (
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "cookie",
    "user-agent",
    "x-api-key",
    "x-app-id",
    "x-device-id",
    "x-mfa-challenge",
    "x-otp",
    "traceparent",
    "tracestate",
)
_FORWARDED = {name.encode(): name for name in FORWARDED_REQUEST_HEADERS}
RELAYED_RESPONSE_HEADERS = (
    "allow",  # of a 405: the methods the path accepts
    "cache-control",
    "content-type",
    "retry-after",
    "set-cookie",
    "www-authenticate",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)
# OPTIONS too (CORS preflights are answered before routing): the service's answer carries the
# `Allow` of the path, which the gateway's own OPTIONS would not know.
METHODS = [
    HttpMethod.GET,
    HttpMethod.POST,
    HttpMethod.PUT,
    HttpMethod.PATCH,
    HttpMethod.DELETE,
    HttpMethod.OPTIONS,
]


@route("/{path:path}", http_method=METHODS, include_in_schema=False)
async def forward(request: Request[object, object, State], state: State) -> ASGIResponse:
    """The request's checks in order, each raising `TesseraError`, then the upstream's answer."""
    route = route_of(request.url.path)
    if route is None or (route.bearer == "admin" and not state.admin_enabled):
        raise TesseraError(Code.NOT_FOUND)
    await check_api_key(request, route, state.api_keys)
    client_ip = client_ip_of(request, state.trusted_proxies)
    limit_headers = await rate_limit(request, route, state.throttle, client_ip)
    claims = await check_bearer(request, route, state.tokens, state.revocations)
    admin = await check_admin(request, route, state.api_keys)
    # Over max_body_bytes: 413, whatever Content-Length claimed. A request that cannot carry a
    # body (most GETs) is not read at all: asking the server for the empty body cost ~15 % of
    # an edge-answered validate-session.
    if not has_body(request.scope):
        body = b""
    elif route.account_field is not None:  # the rate limit may have read it: litestar kept it
        body = await request.body()
    else:
        body = await body_of(request)
    check_body(body, request.headers.get("content-type"), headers=limit_headers)
    if route.answer == "validate-session" and request.method == "GET" and claims is not None:
        # The checks above are exactly the session service's: its answer needs no hop.
        headers = with_rate_limit_headers(SESSION_STATE_HEADERS.items(), limit_headers)
        return ASGIResponse(body=session_state_body(claims), status_code=200, headers=headers)
    answer = await relay(request, state, route.upstream, body, client_ip, limit_headers, admin)
    relayed = with_rate_limit_headers(answer.headers, limit_headers)
    return ASGIResponse(body=answer.body, status_code=answer.status, headers=relayed)


async def relay(
    request: Request[object, object, State],
    state: State,
    upstream: Upstream,
    body: bytes,
    client_ip: str,
    limit_headers: dict[str, str],
    admin: ApiKeyRecord | None = None,
) -> Answer:
    """The upstream's answer to `request`; `TesseraError` (with `limit_headers`) when none came.

    `admin`: the admin key `request` was checked with; the service is told its id and scopes
    (with the internal token vouching for them) instead of getting the key itself.
    """
    url = f"{state.upstreams[upstream]}{request.url.path}"
    if request.url.query:
        url = f"{url}?{request.url.query}"
    headers = forwarded_headers(request.scope["headers"])
    if admin is not None:
        # Checked here: the admin key itself goes no further than the gateway.
        headers.pop("authorization", None)
        headers.update(admin_headers(admin))
        headers[INTERNAL_TOKEN_HEADER] = state.internal_token
    headers["x-request-id"] = request_id_var.get() or ""
    # Overwritten, never appended: the services must not read what a client wrote there.
    headers["x-forwarded-for"] = client_ip or "unknown"
    headers["x-forwarded-proto"] = scheme_in_scope(request.scope, state.trusted_proxies)
    # With tracing on, the services continue the gateway's own span (its parent is what the
    # client sent); off, the client's traceparent passes through unchanged.
    headers.update(trace_headers())
    try:
        return await exchange(
            state.upstream_pool,
            request.method,
            url,
            body=body,
            headers=headers,
            relayed=RELAYED_RESPONSE_HEADERS,
        )
    except UpstreamTimeout:
        code = Code.GATEWAY_TIMEOUT
    except UpstreamUnreachable:
        code = Code.SERVICE_UNAVAILABLE
    except UpstreamBroken:
        code = Code.BAD_GATEWAY
    UPSTREAM_ERRORS.labels(upstream, code).inc()
    raise TesseraError(code, headers=limit_headers)


def forwarded_headers(sent: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The client's headers among `FORWARDED_REQUEST_HEADERS` (the first of each name, left out
    when empty), in one pass over the request's instead of a lookup per name."""
    found: dict[bytes, bytes] = {}
    for name, value in sent:
        if name in _FORWARDED and name not in found:
            found[name] = value
    return {
        name: raw.decode("latin-1") for key, name in _FORWARDED.items() if (raw := found.get(key))
    }


async def body_of(request: Request[object, object, State]) -> bytes:
    """The whole request body, read as litestar's `Request.body` reads it (its 413 and 400
    answers the same) without its async generator and caching: ~4 % of a proxied request.
    Only for a body nothing read before: litestar's copy of one read already is not looked at."""
    limit = request.route_handler.resolve_request_max_body_size() or math.inf
    announced = request.headers.get("content-length")
    if announced is not None:
        try:
            size = int(announced)
        except ValueError:
            raise ClientException(f"Invalid content-length: {announced!r}") from None
        if size > limit:
            raise RequestEntityTooLarge
    chunks: list[bytes] = []
    total = 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")
        if message["type"] != "http.request":
            continue
        chunk = message["body"]
        if chunk:
            total += len(chunk)
            if total > limit:
                raise RequestEntityTooLarge
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)
