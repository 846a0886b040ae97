"""The admin API's JSON bodies as the command line reads them (`GET /admin/v1/...`).

TypedDicts, not decoders: the CLI prints what it is given and `--json` passes bodies through
untouched, so a field the API adds later needs no release of the CLI.
"""

from typing import Literal, TypedDict

Status = Literal["pending", "active", "disabled"]


class ApiErrorBody(TypedDict, total=False):
    """Every error answer: a stable code and a message for people."""

    code: str
    message: str


class UserSummary(TypedDict):
    """One row of `GET /admin/v1/users`."""

    id: str
    status: Status
    email: str | None
    phone: str | None
    name: str | None
    created_at: str
    last_login_at: str | None


class UserPage(TypedDict):
    """`GET /admin/v1/users`: a page, newest first; `next_cursor` None on the last one."""

    users: list[UserSummary]
    next_cursor: str | None


class Mfa(TypedDict):
    """The second factor as `users show` reports it."""

    mode: Literal["none", "email", "sms", "totp"]
    totp_enabled: bool
    recovery_codes_left: int


class Credential(TypedDict):
    """An email or phone the user signs in with."""

    type: Literal["email", "phone"]
    value: str
    verified: bool
    verified_at: str | None


class Lockout(TypedDict):
    """Failed-password lockout of the account."""

    locked: bool
    locked_until: str | None
    failures: int


class Session(TypedDict):
    """A signed-in device."""

    id: str
    device_id: str | None
    app_id: str | None
    created_at: str
    last_used_at: str | None
    ip: str | None
    user_agent: str | None


class UserDetail(TypedDict):
    """`GET /admin/v1/users/{id}`, and the answer of every POST that changes the user."""

    id: str
    status: Status
    name: str | None
    locale: str | None
    created_at: str
    last_login_at: str | None
    last_login_device: str | None
    password_set: bool
    password_changed_at: str | None
    mfa: Mfa
    credentials: list[Credential]
    lockout: Lockout
    sessions: list[Session]


class Revoked(TypedDict):
    """`DELETE /admin/v1/users/{id}/sessions`."""

    revoked: int


class AuditEvent(TypedDict):
    """One audit record; `actor` is `admin:<key id>` or how the user acted."""

    id: int
    at: str
    action: str
    actor: str
    user_id: str | None
    ip: str | None
    request_id: str | None


class AuditPage(TypedDict):
    """`GET /admin/v1/audit`: a page, newest first."""

    events: list[AuditEvent]
    next_cursor: str | None
