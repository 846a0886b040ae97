"""Strict parsing and checking of Tessera's tokens and key sets: no I/O, no state.

Used by `Verifier`/`AsyncVerifier` here and by `tessera_shared.tokens` in the suite's own parts,
so there is one set of rules. A compact JWS must be exactly three base64url segments (no
padding) of at most `MAX_TOKEN_LENGTH` characters; its header a JSON object with `alg: EdDSA`
(the key is always used as Ed25519, whatever the header says), no `crit` (RFC 7515 §4.1.11: no
extension is understood), the expected `typ` (compared as a media type, RFC 8725) and a `kid` of
at most `MAX_KID_LENGTH` characters; its claims a JSON object whose `exp`, `iat` and optional
`nbf` are integers within 0..`LATEST_TIME`. Every refusal is a `VerificationError` whose
message is fixed text: no part of the token.
"""

import binascii
import json
import re
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_verify.errors import VerificationError

ALGORITHM = "EdDSA"
ACCESS_TYPE = "at+jwt"
CHALLENGE_TYPE = "mfa-challenge+jwt"
MAX_TOKEN_LENGTH = 8192
"""Longer strings are refused before any parsing."""
MAX_KID_LENGTH = 256
LATEST_TIME = 253_402_300_799
"""9999-12-31T23:59:59Z: the last second RFC 3339 and `datetime` can write. A signed time beyond
it (or before 1970) is refused, so no caller overflows formatting it."""

# JWK `alg`: "EdDSA" as the session service writes it, or "Ed25519" (RFC 9864).
JWK_ALGORITHMS = ("EdDSA", "Ed25519")
ED25519_KEY_BYTES = 32

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
# What a JSON document can throw at `json.loads`: bad syntax or UTF-8 (ValueError), nesting deep
# enough to exhaust the recursion limit (RecursionError).
_JSON_ERRORS = (ValueError, RecursionError)
# The C scanner `json.loads` ends in (typeshed does not declare the attribute).
_scan_json: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
_headers: dict[bytes, dict[str, Any]] = {}
"""Decoded headers by their segment: one issuer's tokens share a handful (one per kid)."""
_MAX_HEADERS = 32


def _json(data: bytes) -> Any:
    """`json.loads` of UTF-8, without its encoding detection and wrappers when it can."""
    text = data.decode("utf-8")
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return json.loads(text)  # leading white space, or an error to raise
    if end != len(text):
        return json.loads(text)  # trailing white space, or an error to raise
    return value


class Compact(NamedTuple):
    """The parts of a compact JWS; only the header is decoded, nothing is trusted yet.

    `header` is shared by every token with the same header segment: read it, never change it.
    """

    header: dict[str, Any]
    payload: bytes
    signing_input: bytes
    signature: bytes


def b64decode(segment: bytes) -> bytes:
    """Base64url without padding, as JWS writes it; raises ValueError (binascii.Error)."""
    data = segment.translate(_TO_STANDARD)
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


def split(token: str) -> Compact:
    """The parts of a compact JWS of at most `MAX_TOKEN_LENGTH` characters; raises `malformed`."""
    if type(token) is not str or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise VerificationError("malformed", "not an ASCII token of at most 8192 characters")
    raw = token.encode("ascii")
    parts = raw.split(b".")
    if len(parts) != 3 or not all(parts) or raw.translate(None, _TOKEN_ALPHABET):
        raise VerificationError("malformed", "not three base64url segments")
    head, body, signature = parts
    try:
        header = _headers.get(head)
        if header is None:
            header = _json(b64decode(head))
            if type(header) is not dict:
                raise VerificationError("malformed", "header is not a JSON object")
            if len(_headers) >= _MAX_HEADERS:
                _headers.clear()
            _headers[head] = header
        payload = b64decode(body)
        raw_signature = b64decode(signature)
    except _JSON_ERRORS:
        raise VerificationError("malformed", "bad base64url or header JSON") from None
    return Compact(header, payload, raw[: len(head) + 1 + len(body)], raw_signature)


def check_algorithm(header: dict[str, Any]) -> None:
    """Refuses a header whose `alg` is not EdDSA or that has `crit`."""
    if header.get("alg") != ALGORITHM:
        raise VerificationError("malformed", "algorithm is not EdDSA")
    if "crit" in header:
        raise VerificationError("malformed", "crit: no extension is understood")


def checked_kid(header: dict[str, Any], typ: str) -> str:
    """The `kid` of a header with the pinned algorithm, no `crit` and this `typ`; raises."""
    if header.get("alg") != ALGORITHM or "crit" in header:
        check_algorithm(header)  # raises, saying which
    found = header.get("typ")
    if found != typ and (
        type(found) is not str or found.lower().removeprefix("application/") != typ
    ):
        raise VerificationError("wrong_type", "typ is not " + typ)
    kid = header.get("kid")
    if type(kid) is not str or not kid or len(kid) > MAX_KID_LENGTH:
        raise VerificationError("malformed", "kid missing or too long")
    return kid


def verified_claims(compact: Compact, key: Ed25519PublicKey) -> dict[str, Any]:
    """The claims object of a token whose signature `key` verifies (as Ed25519); raises."""
    try:
        key.verify(compact.signature, compact.signing_input)
    except InvalidSignature:
        raise VerificationError("bad_signature", "signature does not verify") from None
    try:
        claims = _json(compact.payload)
    except _JSON_ERRORS:
        raise VerificationError("malformed", "claims are not JSON") from None
    if type(claims) is not dict:
        raise VerificationError("malformed", "claims are not a JSON object")
    return claims


def check_claims(
    claims: dict[str, Any],
    *,
    issuer: str,
    audience: str,
    leeway_s: float,
    now: float | None = None,
) -> None:
    """Refuses claims with times out of shape or range, of another issuer or audience, or
    outside their lifetime (`exp`, `iat`, `nbf`, each with `leeway_s`)."""
    exp = claims.get("exp")
    iat = claims.get("iat")
    nbf = claims.get("nbf")
    if type(exp) is not int or type(iat) is not int or (nbf is not None and type(nbf) is not int):
        raise VerificationError("malformed", "claims: exp, iat and nbf must be integers")
    if not (0 <= exp <= LATEST_TIME and 0 <= iat <= LATEST_TIME) or (
        nbf is not None and not 0 <= nbf <= LATEST_TIME
    ):
        raise VerificationError("malformed", "time out of range")
    if claims.get("iss") != issuer:
        raise VerificationError("wrong_issuer", "another issuer")
    if claims.get("aud") != audience:
        raise VerificationError("wrong_audience", "another audience")
    moment = time.time() if now is None else now
    if exp + leeway_s < moment:
        raise VerificationError("expired", "expired")
    if iat - leeway_s > moment:
        raise VerificationError("expired", "issued in the future")
    if nbf is not None and nbf - leeway_s > moment:
        raise VerificationError("expired", "not valid yet")


def ed25519_key(jwk: object) -> tuple[str, Ed25519PublicKey] | None:
    """The kid and key of an Ed25519 signing JWK; None for any other or malformed JWK."""
    if type(jwk) is not dict or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
        return None
    kid, x, alg, use = jwk.get("kid"), jwk.get("x"), jwk.get("alg"), jwk.get("use")
    if type(kid) is not str or not kid or type(x) is not str or not _B64URL.fullmatch(x):
        return None
    # A tuple, not a set: `in` then compares, and an unhashable `alg` (a list) is just refused.
    if (alg is not None and alg not in JWK_ALGORITHMS) or (use is not None and use != "sig"):
        return None
    try:
        raw = b64decode(x.encode("ascii"))
        if len(raw) != ED25519_KEY_BYTES:
            return None
        return kid, Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


def jwks_keys(document: object) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of a parsed JWKS document by kid; other keys are left out.

    Raises ValueError when the document is not a JSON object with a `keys` array.
    """
    if type(document) is not dict or type(document.get("keys")) is not list:
        raise ValueError("not a JSON Web Key Set")
    return keys_of(document["keys"])


def keys_of(jwks: list[Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys among these JWKs (JSON objects) by kid."""
    keys: dict[str, Ed25519PublicKey] = {}
    for jwk in jwks:
        found = ed25519_key(jwk)
        if found is not None:
            keys[found[0]] = found[1]
    return keys
