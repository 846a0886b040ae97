"""Applies the rate limits to one request: its keys, the verdict, and what Redis down means."""

import logging
from collections.abc import Iterable

from litestar import Request
from litestar.datastructures import State

from tessera_gateway import metrics
from tessera_gateway.api_keys import HEADER as API_KEY_HEADER
from tessera_gateway.api_keys import key_id_of
from tessera_gateway.config import GatewaySettings
from tessera_gateway.rate_limits import (
    Policy,
    RateLimiter,
    RateLimiterUnavailableError,
    make_policy,
    parse_groups,
    request_keys,
    username_in,
)
from tessera_gateway.routes import Group, Route
from tessera_shared.errors import Code, TesseraError

log = logging.getLogger("tessera.gateway.rate_limits")

RATE_LIMIT_HEADERS = frozenset({"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"})


class Throttle:
    """The limiter with the policy and, per group, whether Redis down lets requests pass."""

    def __init__(self, limiter: RateLimiter, policy: Policy, fail_open: frozenset[Group]) -> None:
        self.limiter = limiter
        self.policy = policy
        self.fail_open = fail_open

    @classmethod
    def from_settings(cls, settings: GatewaySettings, limiter: RateLimiter) -> "Throttle | None":
        """None when rate limits are off."""
        if not settings.rate_limits_enabled:
            return None
        policy = make_policy(
            auth_per_minute=settings.rate_limit_auth_per_minute,
            registration_per_minute=settings.rate_limit_registration_per_minute,
            default_per_minute=settings.rate_limit_default_per_minute,
            account_per_minute=settings.rate_limit_account_per_minute,
            device_per_minute=settings.rate_limit_device_per_minute,
            api_key_per_minute=settings.rate_limit_api_key_per_minute,
            introspection_per_minute=settings.rate_limit_introspection_per_minute,
            introspection_api_key_per_minute=settings.rate_limit_introspection_api_key_per_minute,
        )
        return cls(limiter, policy, parse_groups(settings.rate_limit_fail_open_groups))


async def rate_limit(
    request: Request[object, object, State],
    route: Route,
    throttle: Throttle | None,
    client_ip: str,
    *,
    api_key_id: str | None = None,
) -> dict[str, str]:
    """The RateLimit-* headers of an answer to `request`; raises `TesseraError` refusing it.

    Call it after the API-key check: the key id of a keyed route is then a verified one.
    `client_ip`: the client's address (behind trusted proxies, not theirs), "" when unknown.
    `api_key_id`: the verified key's id when it came elsewhere than X-API-Key (HTTP Basic).
    """
    if throttle is None:
        return {}
    username = None
    if route.account_field is not None:
        username = username_in(await request.body(), route.account_field)
    if api_key_id is None and route.api_key:
        plain_key = request.headers.get(API_KEY_HEADER)
        api_key_id = key_id_of(plain_key) if plain_key else None
    keys = request_keys(
        throttle.policy,
        route.group,
        client_ip,
        username=username,
        device_id=request.headers.get("x-device-id"),
        api_key_id=api_key_id,
    )
    try:
        decision = await throttle.limiter.check(keys)
    except RateLimiterUnavailableError:
        if route.group in throttle.fail_open:
            log.warning("rate limiter unavailable: %s request let through", route.group)
            return {}
        log.warning("rate limiter unavailable: %s request refused", route.group)
        raise TesseraError(Code.SERVICE_UNAVAILABLE) from None
    if not decision.allowed:
        metrics.RATE_LIMITED.labels(route.group).inc()
        raise TesseraError(Code.RATE_LIMITED, headers=decision.headers())
    return decision.headers()


def with_rate_limit_headers(
    relayed: Iterable[tuple[str, str]], headers: dict[str, str]
) -> list[tuple[str, str]]:
    """The upstream's headers with the gateway's RateLimit-* in place of any of its own."""
    if not headers:
        return list(relayed)
    kept = [(n, v) for n, v in relayed if n.lower() not in RATE_LIMIT_HEADERS]
    return kept + [(n, v) for n, v in headers.items() if n in RATE_LIMIT_HEADERS]
