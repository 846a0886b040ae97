"""Rate limits: route groups, their limits, the keys one request counts against. Pure: no I/O.

Each request counts against several keys at once (its client IP; on sign-in routes also the
account, the device; on registration routes the client application's API key) and passes only
when every key has room. The Redis script in `adapters/rate_limiter.py` does this atomically;
`evaluate` below is the same rule in Python, its reference.

GCRA (generic cell rate algorithm). A key holds one number, its theoretical arrival time TAT:
when the key would be "empty" again if no more requests came.

    T   = period / rate      emission interval: what one request costs
    tau = T * burst          how far TAT may run ahead of now

A request at `now`: tat = max(TAT, now), new = tat + T. It is allowed when new - now <= tau
(at most `burst` requests ahead of the steady rate), and then TAT = new; otherwise it is
refused, nothing changes, and it may come back after new - tau - now. Hence:

    remaining = floor((tau - (new - now)) / T)    further requests allowed right now
    reset     = new - now                         until the key has its full burst again

A TAT in the past means the same as no TAT, so a key may expire at its TAT: its TTL is
new - now (at most tau). One number per key and one round trip per request, unlike a sliding
window log; and the limit is smooth, unlike a fixed window (no double burst at its edge).
"""

import hashlib
import ipaddress
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from tessera_gateway.routes import GROUPS, Group
from tessera_shared.http.json_body import MalformedJsonError, decode

# The value of `rate_limit_fail_open_groups`: group names separated by commas, or nothing.
_NAME = "|".join(GROUPS)
GROUP_LIST_PATTERN = rf"^\s*(({_NAME})\s*(,\s*({_NAME})\s*)*)?$"

UNKNOWN_IP = "unknown"
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")


class Limit(msgspec.Struct, frozen=True, kw_only=True):
    """`rate` requests per `period_s` in the long run, up to `burst` of them at once."""

    rate: int
    period_s: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate < 1 or self.burst < 1 or self.period_s <= 0:
            raise ValueError("a limit needs rate >= 1, burst >= 1 and period_s > 0")

    @property
    def interval_ms(self) -> int:
        """T in whole milliseconds, rounded up: a fraction lost makes the limit stricter."""
        return max(1, math.ceil(self.period_s * 1000 / self.rate))


def per_minute(rate: int) -> Limit:
    return Limit(rate=rate, period_s=60, burst=rate)


class GroupLimits(msgspec.Struct, frozen=True, kw_only=True):
    """The limits of one route group, per kind of key; None: that key is not counted."""

    per_ip: Limit
    per_account: Limit | None = None
    per_device: Limit | None = None
    per_api_key: Limit | None = None


Policy = Mapping[Group, GroupLimits]


def make_policy(
    *,
    auth_per_minute: int = 5,
    registration_per_minute: int = 10,
    default_per_minute: int = 300,
    account_per_minute: int = 10,
    device_per_minute: int = 10,
    api_key_per_minute: int = 100,
    introspection_per_minute: int = 600,
    introspection_api_key_per_minute: int = 600,
) -> dict[Group, GroupLimits]:
    """The limits of every group, from the settings (the defaults here are theirs).

    With 5 per minute and a burst of 5, the 6th quick sign-in attempt from one IP is refused.
    """
    return {
        "auth": GroupLimits(
            per_ip=per_minute(auth_per_minute),
            per_account=per_minute(account_per_minute),
            per_device=per_minute(device_per_minute),
        ),
        "registration": GroupLimits(
            per_ip=per_minute(registration_per_minute),
            per_api_key=per_minute(api_key_per_minute),
        ),
        # Resource servers asking about their callers' tokens: per client IP and per API key
        # (of the resource server, sent as X-API-Key or in HTTP Basic).
        "introspection": GroupLimits(
            per_ip=per_minute(introspection_per_minute),
            per_api_key=per_minute(introspection_api_key_per_minute),
        ),
        "default": GroupLimits(per_ip=per_minute(default_per_minute)),
    }


def parse_groups(text: str) -> frozenset[Group]:
    """Group names separated by commas (`"default,registration"`); raises ValueError for others."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        raise ValueError(f"unknown rate-limit groups: {', '.join(unknown)}")
    return frozenset(n for n in GROUPS if n in names)


def ip_bucket(host: str) -> str:
    """The client's address as a key: IPv6 reduced to its /64 (what one subscriber gets).

    IPv4-mapped IPv6 counts as the IPv4 address; anything that is no address (a unix socket,
    a test client) shares the one bucket `unknown`.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return UNKNOWN_IP
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        network = ipaddress.IPv6Address(int(address) >> 64 << 64)
        return f"{network}/64"
    return str(address)


def _digest(text: str) -> str:
    # Short and fixed-length, and Redis key names do not spell out addresses or device ids.
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def account_bucket(username: str) -> str | None:
    """The account a sign-in names, as a key; None when it names nothing.

    Case, width and surrounding spaces do not matter, nor (without "@": a phone number) spaces,
    dots, dashes, slashes and brackets, so rewriting one username does not buy fresh attempts.
    """
    name = unicodedata.normalize("NFKC", username).strip().casefold()
    if "@" not in name:
        name = _PHONE_PUNCTUATION.sub("", name)
    return _digest(name) if name else None


def device_bucket(device_id: str) -> str | None:
    device_id = device_id.strip()
    return _digest(device_id) if device_id else None


_OBJECT = msgspec.json.Decoder(dict[str, object])


def username_in(body: bytes, field: str = "username") -> str | None:
    """The account `field` of a JSON object body; None when absent, not text, or no JSON.

    None still counts the request against its IP and device, and the body is refused later.
    """
    try:
        username = decode(body, _OBJECT).get(field)
    except (MalformedJsonError, msgspec.ValidationError):  # no JSON; JSON but not an object
        return None
    return username if isinstance(username, str) else None


class RateKey(msgspec.Struct, frozen=True):
    """One key a request counts against: `<group>:<kind>:<value>` and its limit."""

    suffix: str
    limit: Limit


def request_keys(
    policy: Policy,
    group: Group,
    client_ip: str,
    *,
    username: str | None = None,
    device_id: str | None = None,
    api_key_id: str | None = None,
) -> list[RateKey]:
    """Every key a request on a route of `group` counts against, the client IP's first.

    The account, device and API key count only where the route's group limits them. The device
    id is the client's word: it spares honest devices behind a shared IP, the IP and account
    keys are what hold an attacker.
    """
    limits = policy[group]
    keys = [RateKey(f"{group}:ip:{ip_bucket(client_ip)}", limits.per_ip)]
    account = account_bucket(username) if username is not None else None
    if limits.per_account is not None and account is not None:
        keys.append(RateKey(f"{group}:account:{account}", limits.per_account))
    device = device_bucket(device_id) if device_id is not None else None
    if limits.per_device is not None and device is not None:
        keys.append(RateKey(f"{group}:device:{device}", limits.per_device))
    if limits.per_api_key is not None and api_key_id:
        keys.append(RateKey(f"{group}:key:{api_key_id}", limits.per_api_key))
    return keys


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict on a request, told by its most constrained key (the refusing one if any)."""

    allowed: bool
    limit: int
    """That key's burst: requests allowed at once."""
    remaining: int
    """Requests that key allows right now after this one (0 when refused)."""
    reset_s: int
    """Seconds until that key has its full burst again."""
    retry_after_s: int = 0
    """When refused: seconds until every refusing key allows the request again."""

    @classmethod
    def from_ms(
        cls, *, allowed: bool, limit: int, remaining: int, reset_ms: int, retry_after_ms: int
    ) -> "Decision":
        return cls(
            allowed=allowed,
            limit=limit,
            remaining=remaining,
            reset_s=math.ceil(reset_ms / 1000),
            retry_after_s=0 if allowed else max(1, math.ceil(retry_after_ms / 1000)),
        )

    def headers(self) -> dict[str, str]:
        """`RateLimit-Limit`, `-Remaining`, `-Reset` (IETF draft); `Retry-After` when refused."""
        headers = {
            "ratelimit-limit": str(self.limit),
            "ratelimit-remaining": str(self.remaining),
            "ratelimit-reset": str(self.reset_s),
        }
        if not self.allowed:
            headers["retry-after"] = str(self.retry_after_s)
        return headers


def evaluate(
    tats_ms: Sequence[int | None], limits: Sequence[Limit], now_ms: int
) -> tuple[Decision, list[int] | None]:
    """GCRA over all keys of a request: the decision and, when allowed, every key's new TAT.

    The reference of the Lua script (same arithmetic, same choice of the key that reports).
    """
    allowed = True
    limit, remaining, reset, retry = 0, -1, 0, 0
    new_tats: list[int] = []
    for stored, key_limit in zip(tats_ms, limits, strict=True):
        interval, burst = key_limit.interval_ms, key_limit.burst
        tat = max(stored if stored is not None else now_ms, now_ms)
        new_tat = tat + interval
        tau = interval * burst
        if new_tat - now_ms > tau:
            wait = new_tat - tau - now_ms
            if allowed or wait > retry:
                limit, remaining, reset, retry = burst, 0, tat - now_ms, wait
            allowed = False
        elif allowed:
            left = (tau - (new_tat - now_ms)) // interval
            if (
                remaining < 0
                or left < remaining
                or (left == remaining and new_tat - now_ms > reset)
            ):
                limit, remaining, reset = burst, left, new_tat - now_ms
        new_tats.append(new_tat)
    decision = Decision.from_ms(
        allowed=allowed, limit=limit, remaining=remaining, reset_ms=reset, retry_after_ms=retry
    )
    return decision, new_tats if allowed else None


class RateLimiterUnavailableError(Exception):
    """The limiter cannot answer now (Redis down or failing): neither allowed nor refused."""


class RateLimiter(Protocol):
    async def check(self, keys: Sequence[RateKey]) -> Decision:
        """Counts the request against every key if all allow it; the decision either way.

        Raises `RateLimiterUnavailableError` when the store cannot be asked.
        """
        ...
