"""What each answer of the admin API looks like on a terminal; pure, so tests read the text."""

from collections.abc import Sequence

from tessera_identity.admin_cli.contract import AuditEvent, UserDetail, UserSummary
from tessera_identity.admin_cli.text import cell, fields, indented, table, when

USER_HEADERS = ("ID", "STATUS", "EMAIL", "PHONE", "NAME", "CREATED", "LAST SIGN-IN")
CREDENTIAL_HEADERS = ("TYPE", "VALUE", "VERIFIED")
SESSION_HEADERS = ("ID", "DEVICE", "APP", "CREATED", "LAST USED", "IP", "USER AGENT")
AUDIT_HEADERS = ("AT", "ACTION", "ACTOR", "USER", "IP", "REQUEST ID")
# Fixed floors so the batches `audit tail --follow` prints later line up with the first table.
AUDIT_WIDTHS = {"AT": 20, "ACTION": 22, "ACTOR": 20, "USER": 36, "IP": 15}
USER_AGENT_WIDTH = 40
LABELS = len("recovery codes")  # the longest label: the detail's sections share one value column


def users_table(users: Sequence[UserSummary]) -> str:
    """One row per user, in the API's order."""
    return table(
        USER_HEADERS,
        [
            (
                user["id"],
                user["status"],
                user.get("email"),
                user.get("phone"),
                user.get("name"),
                when(user.get("created_at")),
                when(user.get("last_login_at")),
            )
            for user in users
        ],
    )


def audit_table(events_newest_first: Sequence[AuditEvent], *, header: bool = True) -> str:
    """The API lists newest first; a log reads oldest first, so the rows are turned around."""
    return table(
        AUDIT_HEADERS,
        [
            (
                when(event["at"]),
                event["action"],
                event.get("actor"),
                event.get("user_id"),
                event.get("ip"),
                event.get("request_id"),
            )
            for event in reversed(events_newest_first)
        ],
        narrowest=AUDIT_WIDTHS,
        header=header,
    )


def contact(user: UserDetail) -> str:
    """How operators know the user: the first email, else the first phone, else nothing."""
    credentials = user.get("credentials", [])
    for kind in ("email", "phone"):
        for credential in credentials:
            if credential["type"] == kind:
                return cell(credential["value"])
    return ""


def named(user_id: str, user: UserDetail | None = None) -> str:
    """`user <id> (<email>)` for one-line confirmations."""
    known = contact(user) if user is not None else ""
    return f"user {cell(user_id)} ({known})" if known else f"user {cell(user_id)}"


def sessions_ended(user_id: str, count: int) -> str:
    """The one line `sessions revoke` prints."""
    noun = "session" if count == 1 else "sessions"
    return f"ended {count} {noun} of user {cell(user_id)}"


def user_detail(user: UserDetail) -> str:
    """The detail as sections: profile, credentials, MFA, lockout, sessions."""
    mfa, lockout = user["mfa"], user["lockout"]
    password = (
        f"set, changed {when(user.get('password_changed_at'))}"
        if user.get("password_set")
        else "not set"
    )
    last = when(user.get("last_login_at"))
    if user.get("last_login_device"):
        last += f" on device {cell(user.get('last_login_device'))}"
    locked = f"yes, until {when(lockout.get('locked_until'))}" if lockout["locked"] else "no"
    credentials = [
        (c["type"], c["value"], when(c.get("verified_at")) if c["verified"] else "no")
        for c in user.get("credentials", [])
    ]
    sessions = user.get("sessions", [])
    session_rows = [
        (
            s["id"],
            s.get("device_id"),
            s.get("app_id"),
            when(s.get("created_at")),
            when(s.get("last_used_at")),
            s.get("ip"),
            s.get("user_agent"),
        )
        for s in sessions
    ]
    return "\n".join(
        [
            "profile",
            fields(
                [
                    ("id", user["id"]),
                    ("status", user["status"]),
                    ("name", user.get("name")),
                    ("locale", user.get("locale")),
                    ("created", when(user.get("created_at"))),
                    ("last sign-in", last),
                    ("password", password),
                ],
                column=LABELS,
            ),
            "credentials",
            indented(table(CREDENTIAL_HEADERS, credentials)) if credentials else "  (none)",
            "MFA",
            fields(
                [
                    ("mode", mfa["mode"]),
                    ("TOTP", "enabled" if mfa.get("totp_enabled") else "not enabled"),
                    ("recovery codes", f"{mfa.get('recovery_codes_left', 0)} left"),
                ],
                column=LABELS,
            ),
            "lockout",
            fields([("locked", locked), ("failures", lockout.get("failures", 0))], column=LABELS),
            f"sessions ({len(sessions)})",
            indented(table(SESSION_HEADERS, session_rows, widest={"USER AGENT": USER_AGENT_WIDTH}))
            if sessions
            else "  (none)",
        ]
    )
