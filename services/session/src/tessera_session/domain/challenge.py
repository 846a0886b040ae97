"""The MFA challenge: its state machine, the attempt rule and which factor proves what. Pure.

A challenge is one correct password waiting for its second factor. It is named by the `cid`
of its signed challenge token; the token proves who and where, the state says whether it may
still be used. States and transitions, each one atomic in Redis (`adapters/challenges.py`):

    (none) --password accepted, MFA needed--> OPEN(wrong=0, pending=0)
    OPEN --verify: reserve an attempt--> OPEN(pending+1)
         refused (EXHAUSTED) while wrong + pending >= MAX_WRONG_CODES
    OPEN --identity refuses the code--> OPEN(wrong+1, pending-1); EXHAUSTED at the 5th wrong code
    OPEN --identity cannot answer--> OPEN(pending-1): our failure costs the person nothing
    OPEN --identity accepts the code--> COMPLETED; of parallel successes only the first completes
    OPEN --challenge lifetime passes--> expired (key TTL)
    COMPLETED | EXHAUSTED | expired: the key is gone and every later verify is refused (GONE)

An attempt is reserved before identity is asked, so parallel guesses cannot exceed the limit.
"""

import enum
from typing import Literal

import msgspec

from tessera_shared.errors import ERRORS, Code

MAX_WRONG_CODES = 5
"""Wrong codes one challenge survives; the 5th ends it (the person signs in again)."""

MfaMode = Literal["email", "sms", "totp"]


class ChallengeState(enum.StrEnum):
    OPEN = "open"
    COMPLETED = "completed"
    """The second factor was accepted: a session was started, the challenge cannot be reused."""
    EXHAUSTED = "exhausted"
    """Too many wrong codes (or every remaining attempt is in flight right now)."""
    GONE = "gone"
    """Expired, completed or exhausted before, or never issued."""


class Factor(enum.StrEnum):
    """What proved the second factor; the value is the `amr` entry of the session."""

    CODE = "otp"
    """A login code identity sent by email or SMS."""
    TOTP = "totp"
    RECOVERY = "recovery"


class MfaStep(msgspec.Struct, frozen=True, kw_only=True):
    """The second step a password sign-in needs."""

    mfa_mode: MfaMode
    totp_setup_required: bool = False
    """The policy requires TOTP and the user has none yet: they enroll it with the challenge."""


def mfa_step(
    account_mfa_mode: Literal["none", "email", "sms", "totp"], *, require_totp: bool
) -> MfaStep | None:
    """The MFA step after a correct password, or None when a full session starts at once."""
    if account_mfa_mode != "none":
        return MfaStep(mfa_mode=account_mfa_mode)
    if require_totp:
        return MfaStep(mfa_mode="totp", totp_setup_required=True)
    return None


def factor_of(mfa_mode: MfaMode, *, recovery: bool) -> Factor:
    """A recovery code stands in for any mode; otherwise the challenge's mode decides."""
    if recovery:
        return Factor.RECOVERY
    return Factor.TOTP if mfa_mode == "totp" else Factor.CODE


def spends_attempt(error_code: Code) -> bool:
    """Whether identity's refusal counts as a wrong code: yes for the caller's fault (4xx),
    no when the suite failed (5xx, e.g. identity down), so an outage never ends a challenge."""
    spec = ERRORS.get(error_code)
    return spec is None or spec.status < 500
