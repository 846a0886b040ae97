"""Bodies of identity's internal API (`/internal/v1/...`), called by the session service.

Protected by the header `X-Internal-Token`; never routed by the gateway. Errors use the shared
error model (e.g. 401 invalid_credentials, 423 account_locked with Retry-After, 429
login_attempts_in_progress with Retry-After).
"""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

INTERNAL_TOKEN_HEADER = "x-internal-token"
Text = Annotated[str, msgspec.Meta(max_length=1024)]
ClientIp = Annotated[str, msgspec.Meta(max_length=45, pattern=r"^[0-9A-Fa-f:.]*$")]
"""An IPv4 or IPv6 address as text, or empty when unknown."""


class PasswordCheck(msgspec.Struct, frozen=True, kw_only=True):
    """POST /internal/v1/password/verify"""

    username: Text
    """E-mail address or phone number, as the person typed it."""
    password: Text
    client_ip: ClientIp = ""
    user_agent: Annotated[str, msgspec.Meta(max_length=256)] = ""
    """Of the signing-in client, kept as the account's last device."""


class Account(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    status: str
    mfa_mode: Literal["none", "email", "sms", "totp"]
    locale: str
    credential_version: int = 0
    """Of the password just checked; it moves with every reset or change. A session must not
    start from a version older than the one of the last revocation (`SessionsRevocation`)."""


class CodeRequest(msgspec.Struct, frozen=True, kw_only=True):
    """POST /internal/v1/codes/send: a login code to the channel of the user's mfa_mode."""

    user_id: UUID
    client_ip: ClientIp = ""
    channel: Literal["email", "sms"] | None = None


class CodeSent(msgspec.Struct, frozen=True, kw_only=True):
    channel: Literal["email", "sms"]
    expires_in_s: int


class CodeCheck(msgspec.Struct, frozen=True, kw_only=True):
    """POST /internal/v1/codes/verify"""

    user_id: UUID
    otp: Annotated[str, msgspec.Meta(max_length=32)]


class CodeAccepted(msgspec.Struct, frozen=True, kw_only=True):
    verified: bool = True


class TotpCheck(msgspec.Struct, frozen=True, kw_only=True):
    """POST /internal/v1/totp/verify: a code from the user's authenticator app.

    200 CodeAccepted; 400 otp_invalid; 409 otp_used (the code's time step was already used);
    409 totp_not_enabled; 429 mfa_attempts_exceeded (too many wrong codes for the account,
    across challenges; Retry-After).
    """

    user_id: UUID
    otp: Annotated[str, msgspec.Meta(max_length=32)]


class RecoveryCodeUse(msgspec.Struct, frozen=True, kw_only=True):
    """POST /internal/v1/recovery-codes/use: spends one recovery code (single use).

    200 CodeAccepted; 400 recovery_code_invalid (unknown or already used); 429
    mfa_attempts_exceeded (as TotpCheck: wrong recovery and TOTP codes share the count). The
    use is audited and the user is notified.
    """

    user_id: UUID
    code: Annotated[str, msgspec.Meta(max_length=64)]
    client_ip: ClientIp = ""
    disable_mfa: bool = False
    """`/auth/recover-mfa`: the code also turns MFA off (the person lost their factor)."""


class SessionsRevocation(msgspec.Struct, frozen=True, kw_only=True):
    """POST /internal/v1/sessions/revoke on the session service, called by identity.

    Ends every session (refresh family) of the user at once, except `keep_session` (the one
    that changed its own password). Answers 200 `SessionsRevoked`.
    """

    user_id: UUID
    keep_session: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    credential_version: Annotated[int, msgspec.Meta(ge=0)] | None = None
    """The new password's version (reset or change): from now on, a sign-in whose password
    was checked with an older version does not start a session, even one in flight."""
    purge: bool = False
    """The account was erased: also forget what is kept about the user (the version floor),
    so no key of the user is left. Called after a first revocation with the floor raised."""


class SessionsRevoked(msgspec.Struct, frozen=True, kw_only=True):
    revoked: int
    """How many sessions ended."""


class SessionsQuery(msgspec.Struct, frozen=True, kw_only=True):
    """POST /internal/v1/sessions/list on the session service: the admin API's view of a
    user's sessions. Answers 200 `SessionsFound`."""

    user_id: UUID


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One live session (refresh family) of a user."""

    id: str
    device_id: str
    app_id: str
    created_at: datetime
    last_used_at: datetime
    ip: str
    user_agent: str


class SessionsFound(msgspec.Struct, frozen=True, kw_only=True):
    sessions: list[SessionRecord]
    """Oldest first."""
