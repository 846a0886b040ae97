"""Who calls `/v1/users/...` with a bearer token: verified here again, after the gateway.

Guards, so the token is checked before the body is read (no validation details to strangers).
Signature and claims are checked offline against the session service's JWKS. Revocation
(logout) is the gateway's check: identity is reachable from outside only through it.
"""

from typing import Any
from uuid import UUID

from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.handlers import BaseRouteHandler

from tessera_identity.domain.mfa import MfaMode
from tessera_identity.flows.totp.service import Enrolling
from tessera_shared.errors import Code, TesseraError
from tessera_shared.tokens import MISSING_TOKEN_CHALLENGE, bearer_token, token_invalid
from tessera_shared.tokens.verifier import AccessTokenVerifier

Connection = ASGIConnection[Any, Any, Any, State]


def _token(connection: Connection) -> tuple[str, AccessTokenVerifier]:
    token = bearer_token(connection.headers.get("authorization"))
    if token is None:
        raise TesseraError(Code.UNAUTHORIZED, headers={"www-authenticate": MISSING_TOKEN_CHALLENGE})
    return token, connection.app.state.tokens


def _user_id(sub: str) -> UUID:
    try:
        return UUID(sub)
    except ValueError:
        raise token_invalid() from None


async def signed_in(connection: Connection, _: BaseRouteHandler) -> None:
    """Guard: a valid access token; a challenge token is refused (401 token_invalid)."""
    token, verifier = _token(connection)
    claims = await verifier.verify(token)
    connection.state.caller = Enrolling(user_id=_user_id(claims.sub))
    connection.state.session_id = claims.sid


async def enrolling(connection: Connection, _: BaseRouteHandler) -> None:
    """Guard of the TOTP setup routes: an access token, or an MFA challenge token."""
    token, verifier = _token(connection)
    try:
        claims = await verifier.verify(token)
    except TesseraError as refusal:
        if refusal.code != Code.TOKEN_INVALID:
            raise
        challenge = await verifier.verify_challenge(token)
        caller = Enrolling(
            user_id=_user_id(challenge.sub), challenge_mode=MfaMode(challenge.mfa_mode)
        )
    else:
        caller = Enrolling(user_id=_user_id(claims.sub))
    connection.state.caller = caller


def caller(connection: Connection) -> Enrolling:
    """Who the guard let in."""
    found: Enrolling = connection.state.caller
    return found


def user_of(connection: Connection) -> UUID:
    return caller(connection).user_id


def session_of(connection: Connection) -> str:
    """The caller's session (`sid` of the access token `signed_in` let in)."""
    sid: str = connection.state.session_id
    return sid
