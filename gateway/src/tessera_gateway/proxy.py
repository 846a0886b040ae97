"""Forwards a public request to its upstream and relays the answer."""

import asyncio

import aiohttp
from litestar import Request, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.response.base import ASGIResponse

from tessera_gateway.adapters.upstream import exchange
from tessera_gateway.api_keys import (
    HEADER,
    ApiKeyStoreUnavailableError,
    ApiKeyVerifier,
    requires_api_key,
)
from tessera_gateway.bodies import body_refusal
from tessera_gateway.client_ip import client_ip_of, scheme_in_scope
from tessera_gateway.metrics import UPSTREAM_ERRORS
from tessera_gateway.routing import accepts_challenge_token, requires_access_token, resolve
from tessera_gateway.throttle import rate_limit, with_rate_limit_headers
from tessera_shared.context import request_id_var
from tessera_shared.errors import TesseraError
from tessera_shared.http.errors import error_response
from tessera_shared.telemetry import trace_headers
from tessera_shared.tokens import (
    MISSING_TOKEN_CHALLENGE,
    AccessTokenVerifier,
    RevocationCheck,
    bearer_token,
    token_invalid,
)

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
    upstream = resolve(request.url.path)
    if upstream is None:
        return error_response(request, "not_found").to_asgi_response(app=None, request=request)
    refusal = await api_key_refusal(request, state.api_keys)
    if refusal is not None:
        return error_response(request, refusal).to_asgi_response(app=None, request=request)
    client_ip = client_ip_of(request, state.trusted_proxies)
    limited, limit_headers = await rate_limit(request, state.throttle, client_ip)
    if limited is not None:
        return error_response(request, limited, headers=limit_headers).to_asgi_response(
            app=None, request=request
        )
    token_refused = await token_refusal(request, state.tokens, state.revocations)
    if token_refused is not None:
        return error_response(
            request, token_refused.code, headers=token_refused.headers
        ).to_asgi_response(app=None, request=request)
    body = await request.body()  # over max_body_bytes: 413, whatever Content-Length claimed
    if (refused := body_refusal(body, request.headers.get("content-type"))) is not None:
        return error_response(request, refused, headers=limit_headers).to_asgi_response(
            app=None, request=request
        )
    client: aiohttp.ClientSession = state.http
    url = f"{state.upstreams[upstream]}{request.url.path}"
    if request.url.query:
        url = f"{url}?{request.url.query}"
    headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k))}
    headers["x-request-id"] = request_id_var.get() or ""
    # Overwritten, never appended: the services must not read what a client wrote there.
    headers["x-forwarded-for"] = client_ip or "unknown"
    headers["x-forwarded-proto"] = scheme_in_scope(request.scope, state.trusted_proxies)
    # With tracing on, the services continue the gateway's own span (its parent is what the
    # client sent); off, the client's traceparent passes through unchanged.
    headers.update(trace_headers())
    try:
        answer = await exchange(
            client,
            request.method,
            url,
            body=body,
            headers=headers,
            relayed=RELAYED_RESPONSE_HEADERS,
        )
    except TimeoutError:
        code = "gateway_timeout"
    except aiohttp.ClientConnectorError:
        code = "service_unavailable"
    except (aiohttp.ClientError, asyncio.IncompleteReadError):
        code = "bad_gateway"
    else:
        relayed = with_rate_limit_headers(answer.headers, limit_headers)
        return ASGIResponse(body=answer.body, status_code=answer.status, headers=relayed)
    UPSTREAM_ERRORS.labels(upstream, code).inc()
    return error_response(request, code, headers=limit_headers).to_asgi_response(
        app=None, request=request
    )


async def api_key_refusal(
    request: Request[object, object, State], keys: ApiKeyVerifier
) -> str | None:
    """The error code refusing `request` for its API key, or None when it may pass."""
    if not requires_api_key(request.url.path):
        return None
    plain_key = request.headers.get(HEADER)
    if not plain_key:
        return "api_key_missing"
    try:
        record = await keys.verify(plain_key)
    except ApiKeyStoreUnavailableError:
        return "service_unavailable"
    return None if record is not None else "api_key_invalid"


async def token_refusal(
    request: Request[object, object, State],
    verifier: AccessTokenVerifier,
    revocations: RevocationCheck,
) -> TesseraError | None:
    """The error refusing `request` for its bearer token, or None when it may pass.

    The Authorization header itself is forwarded unchanged: the services verify it again.
    """
    path = request.url.path
    if not requires_access_token(path):
        return None
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        return TesseraError("unauthorized", headers={"www-authenticate": MISSING_TOKEN_CHALLENGE})
    try:
        await check_token(token, verifier, revocations, challenge_too=accepts_challenge_token(path))
    except TesseraError as refusal:
        return refusal
    return None


async def check_token(
    token: str, verifier: AccessTokenVerifier, revocations: RevocationCheck, *, challenge_too: bool
) -> None:
    """Raises unless `token` is a live access token (or, with `challenge_too`, a challenge token).

    `token_invalid` when it is not; `service_unavailable` when the keys or Redis cannot be asked.
    """
    try:
        claims = await verifier.verify(token)
    except TesseraError as refusal:
        if refusal.code != "token_invalid" or not challenge_too:
            raise
        await verifier.verify_challenge(token)
        return
    # Signed and unexpired is not enough: logout and reuse detection delete the family at once.
    if not await revocations.is_active(claims):
        raise token_invalid()
