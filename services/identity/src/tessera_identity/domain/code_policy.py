"""How codes may be sent: lifetime, attempts, cool-down and hourly caps. Pure."""

import math
from datetime import datetime, timedelta

import msgspec


class CodePolicy(msgspec.Struct, frozen=True, kw_only=True):
    ttl_s: int = 600
    max_attempts: int = 5
    cooldown_s: int = 60
    per_recipient_per_hour: int = 5
    per_ip_per_hour: int = 30


def cooldown_left(policy: CodePolicy, last_sent: datetime | None, now: datetime) -> int:
    """Seconds until another code may go to the same recipient (0: now)."""
    if last_sent is None:
        return 0
    left = (last_sent + timedelta(seconds=policy.cooldown_s) - now).total_seconds()
    # Any fraction of a second still blocks; a clock that ran backwards never blocks longer.
    return min(policy.cooldown_s, max(0, math.ceil(left)))
