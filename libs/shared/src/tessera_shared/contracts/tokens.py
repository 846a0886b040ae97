"""Access tokens and the session key layout, shared by the session service and verifiers.

Access token: a JWT signed with Ed25519 (`alg: EdDSA`), header `kid` and `typ: at+jwt`.
Claims: `iss`, `aud`, `sub` (user id), `sid` (refresh-family id), `iat`, `exp`, `jti`, `amr`
(methods used: `pwd`, `otp`, `totp`, `recovery`), plus `did`/`aid` (device and app id) and
`client_id` (RFC 9068: the app id again, under its registered name; absent from older tokens).
A token whose family no longer exists in Redis is revoked (logout, reuse detection), even
before `exp`; `family_key` names the key a verifier checks.

MFA challenge token: same signature, `typ: mfa-challenge+jwt`, claims `sub`, `cid` (challenge
id), `did`, `aid`, `mfa_mode`, short `exp`. Pre-auth only: verifiers of access tokens refuse it.
"""

from typing import Annotated, Literal

import msgspec

ACCESS_TYPE = "at+jwt"
CHALLENGE_TYPE = "mfa-challenge+jwt"
ALGORITHM = "EdDSA"
Amr = Literal["pwd", "otp", "totp", "recovery"]


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    iss: str
    aud: str
    sub: str
    sid: str
    iat: int
    exp: int
    jti: str
    amr: list[str]
    """Methods used (see `Amr`); kept open so a new method does not break older verifiers."""
    did: str
    """X-Device-ID the session was created for."""
    aid: str
    """X-App-ID the session was created for."""
    client_id: str | None = None
    """RFC 9068's name for the client the token was issued to: the same value as `aid`.
    Optional so that tokens signed before it was added still verify."""
    nbf: int | None = None
    """Not before (RFC 7519); not issued by Tessera, honoured when present."""


class ChallengeClaims(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    iss: str
    aud: str
    sub: str
    cid: str
    iat: int
    exp: int
    did: str
    aid: str
    mfa_mode: Literal["email", "sms", "totp"]
    nbf: int | None = None


Prefix = Annotated[str, msgspec.Meta(max_length=64)]


def user_tag(prefix: str, user_id: str) -> str:
    """Every key of one user shares this hash tag, so each script touches one Redis slot."""
    return f"{prefix}{{u:{user_id}}}"


def family_key(prefix: str, user_id: str, family_id: str) -> str:
    """Hash of one refresh family; it exists exactly while the session is alive."""
    return f"{user_tag(prefix, user_id)}:fam:{family_id}"
