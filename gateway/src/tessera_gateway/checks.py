"""The checks of a request's credentials before it is forwarded; each raises `TesseraError`."""

from litestar import Request
from litestar.datastructures import State

from tessera_gateway.api_keys import (
    HEADER,
    AdminKeyVerifier,
    ApiKeyRecord,
    ApiKeyStoreUnavailableError,
    ApiKeyVerifier,
)
from tessera_gateway.routes import Route
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.errors import Code, TesseraError
from tessera_shared.tokens import (
    INVALID_TOKEN_CHALLENGE,
    MISSING_TOKEN_CHALLENGE,
    AccessTokenVerifier,
    RevocationCheck,
    bearer_token,
    token_invalid,
)


async def check_api_key(
    request: Request[object, object, State], route: Route, keys: ApiKeyVerifier
) -> None:
    """Raises unless `route` needs no API key or `request` carries a valid one."""
    if not route.api_key:
        return
    plain_key = request.headers.get(HEADER)
    if not plain_key:
        raise TesseraError(Code.API_KEY_MISSING)
    try:
        record = await keys.verify(plain_key)
    except ApiKeyStoreUnavailableError:
        raise TesseraError(Code.SERVICE_UNAVAILABLE) from None
    if record is None:
        raise TesseraError(Code.API_KEY_INVALID)


async def check_bearer(
    request: Request[object, object, State],
    route: Route,
    verifier: AccessTokenVerifier,
    revocations: RevocationCheck,
) -> AccessClaims | None:
    """Raises unless `route` needs no token or `request` carries a live one of the kind it needs;
    the claims of a live access token, None when there is none (no token, a challenge token,
    an admin route: `check_admin` checks its key).

    `unauthorized` without a token, `token_invalid` for a bad one, `service_unavailable` when
    the keys or Redis cannot be asked. The Authorization header is forwarded unchanged: the
    services verify it again.
    """
    if route.bearer in ("none", "admin"):
        return None
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise TesseraError(Code.UNAUTHORIZED, headers={"www-authenticate": MISSING_TOKEN_CHALLENGE})
    try:
        claims = await verifier.verify(token)
    except TesseraError as refusal:
        if refusal.code != Code.TOKEN_INVALID or route.bearer != "access-or-challenge":
            raise
        await verifier.verify_challenge(token)  # raises `token_invalid` when it is none either
        return None
    # Signed and unexpired is not enough: logout and reuse detection delete the family at once.
    if not await revocations.is_active(claims):
        raise token_invalid()
    return claims


async def check_admin(
    request: Request[object, object, State], route: Route, keys: AdminKeyVerifier
) -> ApiKeyRecord | None:
    """Raises unless `route` needs no admin key or `request` carries an active one as its bearer
    token; that key's record, None when the route needs none.

    `unauthorized` without a bearer token, `admin_key_invalid` for anything else than an active
    admin key (a person's access token, a client key, a revoked key), `service_unavailable`
    when the key store cannot be asked. Scopes are the service's to check: it knows what each
    route needs.
    """
    if route.bearer != "admin":
        return None
    plain_key = bearer_token(request.headers.get("authorization"))
    if plain_key is None:
        raise TesseraError(Code.UNAUTHORIZED, headers={"www-authenticate": MISSING_TOKEN_CHALLENGE})
    try:
        record = await keys.verify_admin(plain_key)
    except ApiKeyStoreUnavailableError:
        raise TesseraError(Code.SERVICE_UNAVAILABLE) from None
    if record is None:
        raise TesseraError(
            Code.ADMIN_KEY_INVALID, headers={"www-authenticate": INVALID_TOKEN_CHALLENGE}
        )
    return record
