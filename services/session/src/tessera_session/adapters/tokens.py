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
from tessera_shared.tokens import jws
from tessera_shared.tokens.verifier import MAX_TOKEN_LENGTH, checked_kid

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
        try:
            if len(token) > MAX_TOKEN_LENGTH:
                raise jws.JwsError("length")
            compact = jws.split(token)
            public = self._public.get(checked_kid(compact.header, ACCESS_TYPE))
            if public is None:
                raise jws.JwsError("unknown kid")
            return jws.verify(
                compact,
                public,
                AccessClaims,
                issuer=self._issuer,
                audience=self._audience,
                leeway_s=LEEWAY_S,
            )
        except jws.JwsError:
            raise TesseraError("token_invalid", headers={"www-authenticate": "Bearer"}) from None

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        key = self._keys.current
        return jwt.encode(
            claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ}
        )
