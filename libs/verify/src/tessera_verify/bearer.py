"""The bearer token of an `Authorization` header (RFC 6750), and what to answer a refusal."""

import json
from typing import Final

from tessera_verify.errors import VerificationError

MISSING_TOKEN_CHALLENGE: Final = "Bearer"
"""`WWW-Authenticate` of a 401 for a request that carried no bearer token."""
INVALID_TOKEN_CHALLENGE: Final = 'Bearer error="invalid_token"'
"""`WWW-Authenticate` of a 401 for a token that is malformed, expired, revoked or forged."""


def bearer_token(authorization: str | None) -> str | None:
    """The token of `Bearer <token>` (scheme in any case); None when absent or another scheme."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class RefusalError(Exception):
    """The HTTP answer to a request whose token was missing or refused, as Tessera answers it:

    - no bearer token: 401 `{"code": "unauthorized"}`, `WWW-Authenticate: Bearer`;
    - a token refused for any reason but `unavailable`: 401 `{"code": "token_invalid"}`,
      `WWW-Authenticate: Bearer error="invalid_token"` (the reason is not told: `error.reason`
      is there for logs);
    - `unavailable` (JWKS or introspection endpoint down): 503 `{"code": "service_unavailable"}`.
    """

    def __init__(self, error: VerificationError | None) -> None:
        self.error = error
        """Why the token was refused; None when there was no token."""
        if error is None:
            status, code, challenge = 401, "unauthorized", MISSING_TOKEN_CHALLENGE
        elif error.reason == "unavailable":
            status, code, challenge = 503, "service_unavailable", None
        else:
            status, code, challenge = 401, "token_invalid", INVALID_TOKEN_CHALLENGE
        super().__init__(code)
        self.status = status
        self.body = {"code": code}
        self.headers = {} if challenge is None else {"WWW-Authenticate": challenge}

    def json(self) -> bytes:
        """`body` as JSON bytes."""
        return json.dumps(self.body).encode()

    def reason_phrase(self) -> str:
        return "401 Unauthorized" if self.status == 401 else "503 Service Unavailable"
