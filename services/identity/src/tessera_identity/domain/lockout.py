"""Failed-password lockout: limits, attempts in flight and growing lock durations. Pure.

Per scope, an attempt is reserved before its password is checked and settled after: a wrong
password becomes a counted failure, anything else only frees its slot. At most `limit`
attempts are checked at a time, counted failures included, so parallel guesses cannot exceed
the limit; only counted failures lock, so parallel correct passwords never do. An attempt that
finds every slot taken by attempts in flight is told to wait (BUSY), not locked.
"""

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
    slot_wait_s: float = 3.0
    """Longest wait for a free slot while the limit is taken by attempts in flight."""
    slot_ttl_s: int = 60
    """A reservation older than this was abandoned (its process died): its slot is free."""

    def limit(self, scope: Scope) -> int:
        return self.ip_failures if scope is Scope.ACCOUNT_IP else self.account_failures

    def lock_duration(self, scope: Scope, locks_so_far: int) -> int:
        """60 s, 5 min, 25 min, … up to the maximum; the account scope starts one step up."""
        step = locks_so_far + (1 if scope is Scope.ACCOUNT else 0)
        return int(min(self.base_s * 5**step, self.max_s))


class Reservation(msgspec.Struct, frozen=True):
    """The outcome of reserving one attempt before its password is checked."""

    allowed: bool
    retry_after_s: int = 0
    newly_locked: bool = False
    busy: bool = False
    """Not locked: every slot is held by attempts in flight; try again in a moment."""


class Decision(enum.StrEnum):
    ALLOW = "allow"
    """Reserve a slot and check the password."""
    LOCKED = "locked"
    """Locked already: refused without checking."""
    LOCK = "lock"
    """The counted failures reached the limit: lock now and refuse."""
    BUSY = "busy"
    """Failures and attempts in flight fill the limit: wait for one to settle."""


class ThrottleState(msgspec.Struct, frozen=True, kw_only=True):
    """One scope's counters as they stand now (expired windows and reservations at zero)."""

    failures: int
    in_flight: int
    locked_for_s: int
    """Seconds left of a lock; 0 when not locked."""


def decide(policy: LockoutPolicy, scope: Scope, state: ThrottleState) -> Decision:
    """What to do with a new attempt in `scope`."""
    limit = policy.limit(scope)
    if state.locked_for_s > 0:
        return Decision.LOCKED
    if state.failures >= limit:
        return Decision.LOCK
    if state.failures + state.in_flight >= limit:
        return Decision.BUSY
    return Decision.ALLOW


def subject_of(key: bytes, kind: str | None, username: str) -> str:
    """The keyed hash counters are kept under (`kind:username`, as sign-in counts them; an
    unknown kind is empty): what strangers type is never stored in clear."""
    return hmac.new(key, f"{kind or ''}:{username}".encode(), hashlib.sha256).hexdigest()
