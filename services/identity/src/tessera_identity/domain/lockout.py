"""Failed-password lockout: limits and growing lock durations. Pure."""

import enum
import hashlib
import hmac

import msgspec


class Scope(enum.StrEnum):
    ACCOUNT_IP = "account_ip"
    """One account from one client IP: locks quickly, so guessing from one place stops."""
    ACCOUNT = "account"
    """One account from anywhere: a higher ceiling, so a stranger cannot easily lock it."""


class LockoutPolicy(msgspec.Struct, frozen=True, kw_only=True):
    ip_failures: int = 5
    account_failures: int = 20
    window_s: int = 900
    base_s: int = 60
    max_s: int = 3600

    def limit(self, scope: Scope) -> int:
        return self.ip_failures if scope is Scope.ACCOUNT_IP else self.account_failures

    def lock_duration(self, scope: Scope, locks_so_far: int) -> int:
        """60 s, 5 min, 25 min, … up to the maximum; the account scope starts one step up."""
        step = locks_so_far + (1 if scope is Scope.ACCOUNT else 0)
        return int(min(self.base_s * 5**step, self.max_s))


class Reservation(msgspec.Struct, frozen=True):
    """The outcome of counting one attempt before its password is checked."""

    allowed: bool
    retry_after_s: int = 0
    newly_locked: bool = False


def subject_of(key: bytes, kind: str, username: str) -> str:
    """The keyed hash counters are kept under (`kind:username`, as sign-in counts them): what
    strangers type is never stored in clear."""
    return hmac.new(key, f"{kind}:{username}".encode(), hashlib.sha256).hexdigest()
