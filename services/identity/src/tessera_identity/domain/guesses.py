"""Wrong second-factor codes per account (TOTP and recovery codes), across sign-ins. Pure.

Each MFA challenge has its own few attempts, but a guesser who knows the password can open a
new challenge at will; this count belongs to the account and outlives challenges. The window
opens at the first wrong code: `failures` wrong codes within `window_s` refuse every further
code until the window passes; a right code clears the count.
"""

from datetime import datetime, timedelta

import msgspec


class GuessPolicy(msgspec.Struct, frozen=True, kw_only=True):
    failures: int = 5
    window_s: int = 900


class Guesses(msgspec.Struct, frozen=True, kw_only=True):
    """The wrong codes counted in the current window (0 when none)."""

    failures: int
    window_started_at: datetime


def refused_for(policy: GuessPolicy, guesses: Guesses, now: datetime) -> int:
    """Seconds until codes are checked again; 0 when a code may be checked now."""
    ends = guesses.window_started_at + timedelta(seconds=policy.window_s)
    if guesses.failures < policy.failures or ends <= now:
        return 0
    return max(1, int((ends - now).total_seconds() + 0.999))


def after_wrong(policy: GuessPolicy, guesses: Guesses, now: datetime) -> Guesses:
    """The count once one more wrong code was entered; an expired window starts again."""
    if guesses.window_started_at + timedelta(seconds=policy.window_s) <= now:
        return Guesses(failures=1, window_started_at=now)
    return Guesses(failures=guesses.failures + 1, window_started_at=guesses.window_started_at)
