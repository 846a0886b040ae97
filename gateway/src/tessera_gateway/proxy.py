"""Forwards a public request to its upstream and relays the answer."""

import asyncio

import aiohttp
from litestar import Request, route
from litestar.datastructures import State
from litestar.enums import HttpMethod
from litestar.response.base import ASGIResponse

from tessera_gateway.api_keys import (
    HEADER,
    ApiKeyStoreUnavailableError,
    ApiKeyVerifier,
    requires_api_key,
)
from tessera_gateway.routing import resolve
from tessera_shared.context import request_id_var
from tessera_shared.http.errors import error_response

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
    "cache-control",
    "content-type",
    "retry-after",
    "set-cookie",
    "www-authenticate",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
)
METHODS = [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE]


@route("/{path:path}", http_method=METHODS, include_in_schema=False)
async def forward(request: Request[object, object, State], state: State) -> ASGIResponse:
    upstream = resolve(request.url.path)
    if upstream is None:
        return error_response(request, "not_found").to_asgi_response(app=None, request=request)
    refusal = await api_key_refusal(request, state.api_keys)
    if refusal is not None:
        return error_response(request, refusal).to_asgi_response(app=None, request=request)
    client: aiohttp.ClientSession = state.http
    url = f"{state.upstreams[upstream]}{request.url.path}"
    if request.url.query:
        url = f"{url}?{request.url.query}"
    headers = {k: v for k in FORWARDED_REQUEST_HEADERS if (v := request.headers.get(k))}
    headers["x-request-id"] = request_id_var.get() or ""
    if request.client:
        headers["x-forwarded-for"] = request.client.host
    try:
        body = await request.body()
        async with client.request(request.method, url, data=body, headers=headers) as answer:
            content = await answer.read()
            relayed = [
                (name, value)
                for name in RELAYED_RESPONSE_HEADERS
                for value in answer.headers.getall(name, [])
            ]
    except TimeoutError:
        code = "gateway_timeout"
    except aiohttp.ClientConnectorError:
        code = "service_unavailable"
    except (aiohttp.ClientError, asyncio.IncompleteReadError):
        code = "bad_gateway"
    else:
        return ASGIResponse(body=content, status_code=answer.status, headers=relayed)
    return error_response(request, code).to_asgi_response(app=None, request=request)


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
