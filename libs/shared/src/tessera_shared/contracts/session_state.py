"""The answer of `GET /auth/validate-session`, built here so the session service and the
gateway (which answers it at the edge, without an upstream hop) cannot drift apart.

Pure: the body from verified, live claims; the encoding of the struct as litestar encodes it.
"""

from datetime import UTC, datetime
from typing import Literal

import msgspec

from tessera_shared.contracts.tokens import AccessClaims

SESSION_STATE_HEADERS: dict[str, str] = {
    "cache-control": "no-store",
    "content-type": "application/json",
}
"""The headers of the 200 answer (the token's state must not be kept by any cache)."""


class AuthSessionState(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    valid: Literal[True] = True
    """Always true: an invalid or ended session answers 401 token_invalid."""
    user_id: str
    """The account's id (`sub`)."""
    session_id: str
    """The session's id (`sid`), as in GET /v1/sessions."""
    expires_at: datetime
    """When this access token expires (ISO-8601, UTC); refresh before."""
    amr: list[str]
    """How the sign-in was proven: `pwd`, then `otp`, `totp` or `recovery`."""


_ENCODER = msgspec.json.Encoder()


def session_state(claims: AccessClaims) -> AuthSessionState:
    """The state of the session of `claims`, which the caller has verified and found live."""
    return AuthSessionState(
        user_id=claims.sub,
        session_id=claims.sid,
        expires_at=datetime.fromtimestamp(claims.exp, UTC),
        amr=claims.amr,
    )


def session_state_body(claims: AccessClaims) -> bytes:
    """The JSON body of the 200 answer, byte for byte as the session service serves it."""
    return _ENCODER.encode(session_state(claims))
