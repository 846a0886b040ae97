"""One-time codes: generation, keyed hashing and the verdict on an entered code. Pure."""

import enum
import hashlib
import hmac
import secrets
from datetime import datetime
from uuid import UUID

import msgspec

from tessera_shared.errors import Code

CODE_DIGITS = 6


class OtpPurpose(enum.StrEnum):
    REGISTRATION = "registration"
    LOGIN = "login"
    CREDENTIAL = "credential"
    PASSWORD_RESET = "password_reset"
    STEP_UP = "step_up"
    """Confirms a change of sign-in security (MFA off, new recovery codes)."""
    EMAIL_CHANGE = "email_change"
    """Sent to the new address of an email change; entering it completes the change."""


class OtpState(enum.StrEnum):
    """Where a stored code is in its life: active → consumed | expired | exhausted."""

    ACTIVE = "active"
    CONSUMED = "consumed"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"


class Verdict(enum.StrEnum):
    ACCEPTED = "accepted"
    WRONG = "wrong"
    EXPIRED = "expired"
    USED = "used"
    EXHAUSTED = "exhausted"


VERDICT_ERRORS: dict[Verdict, Code] = {
    Verdict.WRONG: Code.OTP_INVALID,
    Verdict.EXPIRED: Code.OTP_EXPIRED,
    Verdict.USED: Code.OTP_USED,
    Verdict.EXHAUSTED: Code.OTP_ATTEMPTS_EXCEEDED,
}


class StoredOtp(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    code_hash: bytes
    key_id: str
    attempts: int
    max_attempts: int
    expires_at: datetime
    consumed_at: datetime | None


def generate_code() -> str:
    """Six digits from the operating system's CSPRNG, leading zeros kept."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def hash_code(key: bytes, otp_id: UUID, code: str) -> bytes:
    """HMAC-SHA256 over the code and its row id: a leaked table reveals no code."""
    return hmac.new(key, otp_id.bytes + code.encode(), hashlib.sha256).digest()


def state_of(otp: StoredOtp, now: datetime) -> OtpState:
    if otp.consumed_at is not None:
        return OtpState.CONSUMED
    if otp.attempts >= otp.max_attempts:
        return OtpState.EXHAUSTED
    if now >= otp.expires_at:
        return OtpState.EXPIRED
    return OtpState.ACTIVE


def judge(otp: StoredOtp, entered: str, key: bytes, now: datetime) -> Verdict:
    """The verdict on `entered`; the caller records a WRONG one as a spent attempt."""
    state = state_of(otp, now)
    if state is OtpState.CONSUMED:
        return Verdict.USED
    if state is OtpState.EXHAUSTED:
        return Verdict.EXHAUSTED
    if state is OtpState.EXPIRED:
        return Verdict.EXPIRED
    well_formed = len(entered) == CODE_DIGITS and entered.isascii() and entered.isdigit()
    expected = otp.code_hash
    actual = hash_code(key, otp.id, entered if well_formed else "")
    return Verdict.ACCEPTED if hmac.compare_digest(expected, actual) else Verdict.WRONG
