"""Signs the session service's JWTs (EdDSA); they are verified with the shared verifier."""

import time
import uuid
from typing import Any

import jwt
import msgspec

from tessera_session.adapters.keys import KeyRing
from tessera_session.domain.challenge import MfaMode
from tessera_shared.contracts.tokens import (
    ACCESS_TYPE,
    ALGORITHM,
    CHALLENGE_TYPE,
    AccessClaims,
    ChallengeClaims,
)


class TokenIssuer:
    def __init__(self, keys: KeyRing, issuer: str, audience: str) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience

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
            client_id=app,  # RFC 9068; `aid` stays for verifiers that read it
        )
        return self._sign(msgspec.to_builtins(claims), ACCESS_TYPE)

    def challenge(
        self, *, user_id: str, device: str, app: str, mfa_mode: MfaMode, ttl_s: int
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
            mfa_mode=mfa_mode,
        )
        return self._sign(msgspec.to_builtins(claims), CHALLENGE_TYPE), claims

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        key = self._keys.current
        return jwt.encode(
            claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ}
        )
