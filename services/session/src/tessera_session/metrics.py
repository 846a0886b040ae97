"""Sign-in, second-factor and refresh counters for Prometheus (`GET /metrics`).

Counted by the service layer where the outcome is decided; every label has a small fixed set
of values, so refusals are grouped rather than labelled by error code.
"""

from typing import Literal, get_args

from prometheus_client import Counter

from tessera_session.domain.challenge import Factor
from tessera_session.domain.family import Rotation
from tessera_shared.errors import ERRORS, Code

LoginResult = Literal["success", "mfa_required", "failed", "locked", "refused", "error"]
MfaResult = Literal["success", "wrong", "challenge_invalid", "error"]
RefreshResult = Literal["rotated", "replayed", "refused"]
UNKNOWN_FACTOR = "unknown"
"""`factor` of a challenge refused before its token was read (forged, expired, other device)."""

LOGINS = Counter(
    "tessera_logins",
    "Password sign-ins (/v1/authenticate, /auth/login) by outcome",
    ["result"],
)
MFA_VERIFICATIONS = Counter(
    "tessera_mfa_verifications",
    "Second factors presented for an MFA challenge, by factor and outcome",
    ["factor", "result"],
)
REFRESHES = Counter(
    "tessera_refreshes",
    "Refresh tokens presented, by outcome (a reuse is refused, and counted apart as well)",
    ["result"],
)
REUSE_DETECTED = Counter(
    "tessera_refresh_reuse_detected",
    "Old refresh tokens presented again: their session was revoked",
)
SESSIONS_CAPPED = Counter(
    "tessera_sessions_capped",
    "Sessions ended because a new sign-in took the user past max_sessions_per_user",
)

# Every series exists from the start, so rates and alerts work before the first event.
for _login in get_args(LoginResult):
    LOGINS.labels(_login)
for _factor in (*(f.value for f in Factor), UNKNOWN_FACTOR):
    for _mfa in get_args(MfaResult):
        MFA_VERIFICATIONS.labels(_factor, _mfa)
for _refresh in get_args(RefreshResult):
    REFRESHES.labels(_refresh)


def login_result(error_code: Code) -> LoginResult:
    """The outcome a sign-in refused with `error_code` (mostly identity's) counts as."""
    if error_code == Code.INVALID_CREDENTIALS:
        return "failed"
    if error_code == Code.ACCOUNT_LOCKED:
        return "locked"
    spec = ERRORS.get(error_code)
    # 4xx: the account may not sign in (disabled, not verified) or the input was refused;
    # 5xx: the suite failed (identity down or slow).
    return "refused" if spec is not None and spec.status < 500 else "error"


def mfa_result(error_code: Code) -> MfaResult:
    """The outcome a second factor refused with `error_code` counts as."""
    if error_code == Code.CHALLENGE_INVALID:
        return "challenge_invalid"
    spec = ERRORS.get(error_code)
    return "wrong" if spec is not None and spec.status < 500 else "error"


def refresh_result(outcome: Rotation | None) -> RefreshResult:
    """`rotated`, `replayed` (the grace window's same successor) or `refused` (anything else,
    a token that cannot be read included: None)."""
    if outcome is Rotation.ROTATED:
        return "rotated"
    if outcome is Rotation.REPLAYED:
        return "replayed"
    return "refused"
