"""The one exception of this package, and why it was raised."""

from typing import Final, Literal, get_args

Reason = Literal[
    "malformed",
    "wrong_type",
    "bad_signature",
    "unknown_key",
    "wrong_issuer",
    "wrong_audience",
    "expired",
    "revoked",
    "unavailable",
]

REASONS: Final[frozenset[str]] = frozenset(get_args(Reason))
"""Every `VerificationError.reason`:

- `malformed`: not a compact JWS of three base64url segments, too long, a header or claims that
  are not JSON objects, a missing or mistyped claim, a time outside 0..253402300799, an `alg`
  other than EdDSA, a `crit` header, a `kid` missing or longer than 256 characters.
- `wrong_type`: header `typ` is not `at+jwt` (e.g. an MFA challenge token, `mfa-challenge+jwt`).
- `bad_signature`: the signature does not verify with the key of that `kid`.
- `unknown_key`: the key set has no key with that `kid` (also after a refetch).
- `wrong_issuer`, `wrong_audience`: `iss` or `aud` is not the one this verifier was made for.
- `expired`: outside its lifetime: `exp` passed, or `iat`/`nbf` still ahead (beyond the leeway).
- `revoked`: the introspection endpoint answered `active: false` (session ended).
- `unavailable`: the JWKS is needed (unknown `kid`) but cannot be fetched, or the introspection
  endpoint cannot be asked. Fails closed: the token is not accepted; answer 503, not 401.
"""


class VerificationError(Exception):
    """A token was refused; `reason` says why (one of `REASONS`).

    The message names the reason and a fixed description, never any part of the token.
    """

    __slots__ = ("detail", "reason")

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: Reason = reason
        self.detail = detail
