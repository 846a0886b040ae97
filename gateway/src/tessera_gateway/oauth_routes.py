"""The gateway's OAuth routes, answered by the gateway itself (no upstream hop): see `oauth.py`.

Introspection runs the checks of a proxied request in its own order: the client's API key
(401), the rate limits of group `introspection` per client IP and per API key (429), the form
(400), then the token as every bearer token is checked, signature and claims offline and its
session in Redis. Redis or the key set out of reach: 503 with Retry-After, never `active: false`
(the token may be live). The metadata is static per host: not rate limited, like /openapi.json.
"""

from litestar import Request, get, post
from litestar.datastructures import State
from litestar.response.base import ASGIResponse

from tessera_gateway.api_keys import HEADER as API_KEY_HEADER
from tessera_gateway.api_keys import ApiKeyStoreUnavailableError, ApiKeyVerifier
from tessera_gateway.client_ip import client_ip_of, scheme_in_scope
from tessera_gateway.oauth import (
    INTROSPECTION_HEADERS,
    INTROSPECTION_PATH,
    METADATA_HEADERS,
    METADATA_PATH,
    client_error,
    client_key,
    introspection_body,
    request_base,
    server_metadata,
    token_in,
)
from tessera_gateway.openapi import DOCS_PATH
from tessera_gateway.routes import Route
from tessera_gateway.throttle import rate_limit
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.errors import Code, TesseraError
from tessera_shared.tokens import AccessTokenVerifier, RevocationCheck

INTROSPECTION = Route(upstream="session", group="introspection", api_key=True)
"""Its rate-limit group and API key; never forwarded (the upstream is not used)."""


@post(INTROSPECTION_PATH, include_in_schema=False, status_code=200)
async def introspect(request: Request[object, object, State], state: State) -> ASGIResponse:
    headers = request.headers
    plain_key = client_key(headers.get(API_KEY_HEADER), headers.get("authorization"))
    key_id = await verified_key_id(state.api_keys, plain_key)
    client_ip = client_ip_of(request, state.trusted_proxies)
    limit_headers = await rate_limit(
        request, INTROSPECTION, state.throttle, client_ip, api_key_id=key_id
    )
    token = token_in(await request.body(), headers.get("content-type"), headers=limit_headers)
    claims = await live_claims(token, state.tokens, state.revocations)
    answered = {**INTROSPECTION_HEADERS, **limit_headers}
    return ASGIResponse(body=introspection_body(claims), status_code=200, headers=answered)


async def verified_key_id(keys: ApiKeyVerifier, plain_key: str) -> str:
    """The id of an active API key; `api_key_invalid` (401) for any other."""
    try:
        record = await keys.verify(plain_key)
    except ApiKeyStoreUnavailableError:
        raise TesseraError(Code.SERVICE_UNAVAILABLE) from None
    if record is None:
        raise client_error(Code.API_KEY_INVALID)
    return record.key_id


async def live_claims(
    token: str, verifier: AccessTokenVerifier, revocations: RevocationCheck
) -> AccessClaims | None:
    """The claims of a live access token; None for any token that is not one.

    Raises `service_unavailable` when the key set or Redis cannot be asked.
    """
    try:
        claims = await verifier.verify(token)
    except TesseraError as refusal:
        if refusal.code != Code.TOKEN_INVALID:
            raise
        return None
    return claims if await revocations.is_active(claims) else None


@get(METADATA_PATH, include_in_schema=False)
async def authorization_server_metadata(
    request: Request[object, object, State], state: State
) -> ASGIResponse:
    base: str | None = state.public_url or request_base(
        scheme_in_scope(request.scope, state.trusted_proxies), request.headers.get("host")
    )
    if base is None:
        raise TesseraError(Code.BAD_REQUEST)
    body = server_metadata(state.token_issuer, base, DOCS_PATH)
    return ASGIResponse(body=body, status_code=200, headers=METADATA_HEADERS)
