"""Compact JWS with EdDSA: split, check the signature, decode and check the claims.

PyJWT signs our tokens; verifying them on every request goes through this instead, because a
profile showed PyJWT's generic base64url segment validation taking over half of each
verification. The cryptography is still `cryptography`'s Ed25519; only parsing is ours, and it
is strict: exactly three base64url segments, a JSON object header, EdDSA only, no `crit`
extension (RFC 7515 §4.1.11: we understand none), and integer times within `LATEST_TIME`.
"""

import base64
import re
import time
from typing import Any, TypeVar

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_shared.contracts.tokens import ALGORITHM, AccessClaims, ChallengeClaims

_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_header_decoder = msgspec.json.Decoder(dict[str, Any])
Claims = TypeVar("Claims", AccessClaims, ChallengeClaims)

LATEST_TIME = 253_402_300_799
"""9999-12-31T23:59:59Z: the last second RFC 3339 and `datetime` can write. A signed time beyond
it (or before 1970) is refused, so no caller overflows formatting it."""


class JwsError(Exception):
    """The token is malformed, forged, of the wrong kind, or outside its lifetime."""


class Compact(msgspec.Struct, frozen=True):
    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def _b64(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise JwsError("segment is not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except ValueError as exc:
        raise JwsError("bad base64url") from exc


def split(token: str) -> Compact:
    """The parts of a compact JWS; nothing is trusted yet."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("not three segments")
    try:
        header = _header_decoder.decode(_b64(parts[0]))
    except msgspec.DecodeError as exc:
        raise JwsError("header is not a JSON object") from exc
    return Compact(
        header=header,
        payload=_b64(parts[1]),
        signing_input=f"{parts[0]}.{parts[1]}".encode("ascii"),
        signature=_b64(parts[2]),
    )


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
    if compact.header.get("alg") != ALGORITHM:
        raise JwsError("algorithm")
    if "crit" in compact.header:
        raise JwsError("crit: no extension is understood")
    try:
        key.verify(compact.signature, compact.signing_input)
    except InvalidSignature as exc:
        raise JwsError("signature") from exc
    try:
        checked = msgspec.json.decode(compact.payload, type=claims)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise JwsError("claims") from exc
    times = (checked.exp, checked.iat, 0 if checked.nbf is None else checked.nbf)
    if not all(0 <= value <= LATEST_TIME for value in times):
        raise JwsError("time out of range")
    moment = time.time() if now is None else now
    if checked.iss != issuer or checked.aud != audience:
        raise JwsError("issuer or audience")
    if checked.exp + leeway_s < moment:
        raise JwsError("expired")
    if checked.iat - leeway_s > moment:
        raise JwsError("issued in the future")
    if checked.nbf is not None and checked.nbf - leeway_s > moment:
        raise JwsError("not valid yet")
    return checked
