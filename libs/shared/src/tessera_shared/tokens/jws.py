"""Compact JWS with EdDSA: `tessera_verify.core`'s rules, with the claims as msgspec structs.

Parsing and checking are `tessera_verify`'s (the package any Python service verifies Tessera
tokens with), so the suite's parts and outside services refuse exactly the same tokens: three
base64url segments, a JSON object header, EdDSA only, no `crit` extension, integer times within
`LATEST_TIME`, this issuer and audience, within the lifetime. The typed claims come from
`contracts.tokens` (unknown claims are ignored).
"""

from typing import TypeVar

import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_shared.contracts.tokens import AccessClaims, ChallengeClaims
from tessera_verify.core import LATEST_TIME as LATEST_TIME
from tessera_verify.core import Compact as Compact
from tessera_verify.core import check_algorithm, check_claims, verified_claims
from tessera_verify.core import split as split
from tessera_verify.errors import VerificationError

JwsError = VerificationError
"""The token is malformed, forged, of the wrong kind, or outside its lifetime (`.reason`)."""

Claims = TypeVar("Claims", AccessClaims, ChallengeClaims)


def verify(
    compact: Compact,
    key: Ed25519PublicKey,
    claims: type[Claims],
    *,
    issuer: str,
    audience: str,
    leeway_s: float,
    now: float | None = None,
) -> Claims:
    """Claims of a token signed by `key` with EdDSA, for this issuer and audience, in time."""
    check_algorithm(compact.header)
    raw = verified_claims(compact, key)
    check_claims(raw, issuer=issuer, audience=audience, leeway_s=leeway_s, now=now)
    try:
        return msgspec.convert(raw, claims)
    except msgspec.ValidationError:
        raise VerificationError("malformed", "claims: missing or mistyped") from None
