"""Signs and checks the session service's own JWTs (EdDSA, algorithm pinned)."""

import time
import uuid
from typing import Any

import jwt
import msgspec

from tessera_session.adapters.keys import KeyRing
from tessera_shared.contracts.tokens import (
    ACCESS_TYPE,
    ALGORITHM,
    CHALLENGE_TYPE,
    AccessClaims,
    ChallengeClaims,
)
from tessera_shared.errors import TesseraError

LEEWAY_S = 10


class TokenIssuer:
    def __init__(self, keys: KeyRing, issuer: str, audience: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        # Derived once: deriving a public key costs more than verifying a signature.
        self._public = {k.kid: k.private.public_key() for k in keys.keys}

    def access(
        self, *, user_id: str, family_id: str, device: str, app: str, amr: list[str], ttl_s: int
    ) -> str:
        now = int(time.time())
        claims = AccessClaims(
            iss=self._issuer,
            aud=self._audience,
            sub=user_id,
            sid=family_id,
            iat=now,
            exp=now + ttl_s,
            jti=str(uuid.uuid4()),
            amr=amr,
            did=device,
            aid=app,
        )
        return self._sign(msgspec.to_builtins(claims), ACCESS_TYPE)

    def challenge(
        self, *, user_id: str, device: str, app: str, mfa_mode: str, ttl_s: int
    ) -> tuple[str, ChallengeClaims]:
        now = int(time.time())
        claims = ChallengeClaims(
            iss=self._issuer,
            aud=self._audience,
            sub=user_id,
            cid=str(uuid.uuid4()),
            iat=now,
            exp=now + ttl_s,
            did=device,
            aid=app,
            mfa_mode=mfa_mode,  # type: ignore[arg-type]
        )
        return self._sign(msgspec.to_builtins(claims), CHALLENGE_TYPE), claims

    def verify_access(self, token: str) -> AccessClaims:
        """Claims of a valid access token signed by one of our keys; else 401 token_invalid."""
        return msgspec.convert(self._verify(token, ACCESS_TYPE), AccessClaims)

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        key = self._keys.current
        return jwt.encode(
            claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ}
        )

    def _verify(self, token: str, typ: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            public = self._public[str(header.get("kid"))]
            if header.get("typ") != typ:
                raise ValueError("wrong token type")
            claims: dict[str, Any] = jwt.decode(
                token,
                public,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "sid", "iss", "aud"]},
            )
            return claims
        except (jwt.PyJWTError, KeyError, ValueError, msgspec.ValidationError):
            raise TesseraError("token_invalid", headers={"www-authenticate": "Bearer"}) from None
