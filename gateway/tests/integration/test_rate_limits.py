"""Rate limits against a real Redis: the Lua script alone, and the gateway in front of stand-ins."""

import random

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tessera_gateway.adapters.rate_limiter import RedisRateLimiter
from tessera_gateway.app import create_app
from tessera_gateway.bootstrap import create_api_key
from tessera_gateway.config import GatewaySettings
from tessera_gateway.rate_limits import (
    Limit,
    RateKey,
    RateLimiterUnavailableError,
    evaluate,
    make_policy,
    per_minute,
    request_keys,
)
from tessera_gateway.routes import PATHS
from tessera_shared.devservers import free_port
from tessera_shared.redis import make_redis

NOW = 1_700_000_000_000
JSON = {"content-type": "application/json"}


def sign_in(username: str = "ann@example.com") -> bytes:
    return f'{{"username": "{username}", "password": "secret"}}'.encode()


def with_peer_header(app: Litestar) -> Litestar:
    """The test client always connects as `testclient`; `X-Test-Peer` stands for the peer IP."""
    inner = app.asgi_handler

    async def handler(scope, receive, send):
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-peer":
                    scope = {**scope, "client": (value.decode(), 50000)}
        await inner(scope, receive, send)

    app.asgi_handler = handler
    return app


@pytest.fixture
def settings(gateway_settings):
    return gateway_settings()


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(with_peer_header(create_app(settings))) as test_client:
        yield test_client


@pytest.fixture
async def redis(redis_url):
    client = make_redis(redis_url)
    yield client
    await client.aclose()


async def authenticate(client, peer, username="ann@example.com", *, device=None, language="en"):
    headers = {**JSON, "x-test-peer": peer, "accept-language": language}
    if device:
        headers["x-device-id"] = device
    return await client.post("/v1/authenticate", content=sign_in(username), headers=headers)


async def status(client, peer, username="ann@example.com", *, device=None):
    return (await authenticate(client, peer, username, device=device)).status_code


async def test_the_sixth_quick_sign_in_from_one_ip_is_a_localized_429_and_never_forwarded(
    client, session_upstream
):
    answers = [await authenticate(client, "203.0.113.7") for _ in range(5)]
    assert [a.status_code for a in answers] == [201] * 5
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["4", "3", "2", "1", "0"]
    assert {a.headers["ratelimit-limit"] for a in answers} == {"5"}
    refused = await authenticate(client, "203.0.113.7", language="de")
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert refused.json()["message"] == "Zu viele Anfragen. Bitte versuchen Sie es später erneut."
    assert refused.headers["retry-after"] == "12"
    assert refused.headers["ratelimit-limit"] == "5"
    assert refused.headers["ratelimit-remaining"] == "0"
    assert 0 < int(refused.headers["ratelimit-reset"]) <= 60
    assert len(session_upstream.seen) == 5


async def test_another_ip_and_other_route_groups_pass_while_one_ip_is_limited_for_sign_in(
    client, session_upstream
):
    for _ in range(5):
        await authenticate(client, "203.0.113.7", username="ann@example.com")
    assert await status(client, "203.0.113.7", username="bob@example.com") == 429
    assert await status(client, "203.0.113.8", username="bob@example.com") == 201
    other = await client.get("/.well-known/jwks.json", headers={"x-test-peer": "203.0.113.7"})
    assert other.status_code == 200
    assert other.headers["ratelimit-limit"] == "300"
    assert other.headers["ratelimit-remaining"] == "299"


async def test_one_account_is_limited_across_ips_and_other_accounts_are_not(
    client, session_upstream
):
    for peer in ("203.0.113.1", "203.0.113.2"):
        for _ in range(5):
            assert await status(client, peer, username="Ann@Example.com") == 201
    refused = await authenticate(client, "203.0.113.3", username=" ann@example.com")
    assert refused.status_code == 429
    assert refused.headers["ratelimit-limit"] == "10"  # the account's limit, not the IP's
    assert await status(client, "203.0.113.3", username="bob@example.com") == 201
    assert len(session_upstream.seen) == 11


async def test_one_device_is_limited_across_ips_and_accounts(client):
    for i in range(10):
        peer, username = f"203.0.113.{i}", f"user{i}@example.com"
        assert await status(client, peer, username, device="d1") == 201
    refused = await authenticate(client, "203.0.113.99", "x@example.com", device="d1")
    assert refused.status_code == 429
    fresh = await authenticate(client, "203.0.113.99", "x@example.com", device="d2")
    assert fresh.status_code == 201


async def test_the_account_and_device_limits_are_settings(gateway_settings, session_upstream):
    settings = gateway_settings(
        rate_limit_auth_per_minute=100,
        rate_limit_account_per_minute=2,
        rate_limit_device_per_minute=3,
    )
    async with AsyncTestClient(with_peer_header(create_app(settings))) as client:
        assert [await status(client, f"203.0.113.{i}") for i in range(3)] == [201, 201, 429]
        refused = await authenticate(client, "203.0.113.9")
        assert refused.headers["ratelimit-limit"] == "2"
        devices = [
            await status(client, "198.51.100.1", f"u{i}@example.com", device="d") for i in range(4)
        ]
        assert devices == [201, 201, 201, 429]


async def test_addresses_in_one_ipv6_64_share_the_limit(client):
    for i in range(5):
        assert await status(client, f"2001:db8:0:1::{i + 1}") == 201
    assert await status(client, "2001:db8:0:1:ffff::1") == 429
    assert await status(client, "2001:db8:0:2::1") == 201


async def test_every_rate_limit_key_expires_once_it_is_back_to_a_full_burst(client, redis, test_id):
    await authenticate(client, "203.0.113.7", device="d1")
    await client.get("/.well-known/jwks.json", headers={"x-test-peer": "203.0.113.7"})
    keys = [k async for k in redis.scan_iter(match=f"t{test_id}:rl:*")]
    assert len(keys) == 4  # auth ip, account, device; default ip
    for key in keys:
        assert key.startswith(f"t{test_id}:rl:{{ratelimit}}:".encode())
        # One request costs one emission interval: 12 s (auth ip), 6 s, 6 s, 0.2 s (default).
        assert 0 < await redis.pttl(key) <= 12_000


async def test_registration_counts_against_the_verified_api_key(client, settings, redis, test_id):
    api_key = await create_api_key(settings, "test")
    answer = await client.post(
        "/v1/users/resend-code",
        content=b"{}",
        headers={**JSON, "x-api-key": api_key, "x-test-peer": "203.0.113.7"},
    )
    assert answer.status_code == 201
    assert answer.headers["ratelimit-limit"] == "10"
    key = f"t{test_id}:rl:{{ratelimit}}:registration:key:{api_key[:12]}"
    assert await redis.pttl(key) > 0


async def test_the_api_key_limit_is_a_setting(gateway_settings):
    settings = gateway_settings(
        rate_limit_registration_per_minute=100, rate_limit_api_key_per_minute=2
    )
    api_key = await create_api_key(settings, "test")
    async with AsyncTestClient(with_peer_header(create_app(settings))) as client:
        answers = [
            await client.post(
                "/v1/users/resend-code",
                content=b"{}",
                headers={**JSON, "x-api-key": api_key, "x-test-peer": f"203.0.113.{i}"},
            )
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [201, 201, 429]
    assert answers[2].headers["ratelimit-limit"] == "2"


async def test_two_gateways_on_one_redis_share_the_limit(settings, session_upstream):
    app_one = with_peer_header(create_app(settings))
    app_two = with_peer_header(create_app(settings))
    async with AsyncTestClient(app_one) as one, AsyncTestClient(app_two) as two:
        for gateway in (one, two, one, two, one):
            assert await status(gateway, "203.0.113.7") == 201
        assert await status(two, "203.0.113.7") == 429
    assert len(session_upstream.seen) == 5


async def test_without_redis_sign_in_fails_closed_and_other_routes_fail_open(
    own_redis, test_id, identity_upstream, session_upstream
):
    settings = GatewaySettings(
        redis_url=own_redis.url(),
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
        rate_limit_prefix=f"t{test_id}:rl:",
    )
    async with AsyncTestClient(with_peer_header(create_app(settings))) as client:
        assert await status(client, "203.0.113.7") == 201
        own_redis.stop()
        refused = await authenticate(client, "203.0.113.7", language="fr")
        passed = await client.get("/.well-known/jwks.json", headers={"x-test-peer": "203.0.113.7"})
    assert refused.status_code == 503
    assert refused.json()["code"] == "service_unavailable"
    assert refused.json()["message"].startswith("Le service est temporairement indisponible")
    assert "ratelimit-limit" not in refused.headers
    assert passed.status_code == 200
    assert "ratelimit-limit" not in passed.headers
    assert len(session_upstream.seen) == 1
    assert session_upstream.jwks_requests == 1


async def test_the_fail_open_groups_are_configurable(
    own_redis, test_id, identity_upstream, session_upstream
):
    settings = GatewaySettings(
        redis_url=own_redis.url(),
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
        rate_limit_prefix=f"t{test_id}:rl:",
        rate_limit_fail_open_groups="auth",
    )
    own_redis.stop()
    async with AsyncTestClient(with_peer_header(create_app(settings))) as client:
        assert await status(client, "203.0.113.7") == 201
        default = await client.get("/.well-known/jwks.json", headers={"x-test-peer": "203.0.113.7"})
    assert default.status_code == 503


async def test_with_rate_limits_off_nothing_is_counted_or_announced(settings, session_upstream):
    settings = msgspec.structs.replace(settings, rate_limits_enabled=False)
    async with AsyncTestClient(with_peer_header(create_app(settings))) as client:
        answers = [await authenticate(client, "203.0.113.7") for _ in range(7)]
    assert [a.status_code for a in answers] == [201] * 7
    assert not any("ratelimit-limit" in a.headers for a in answers)


# The script alone. A fake clock makes time pass without waiting; every limit here is per
# minute, so Redis' own expiry (real time) cannot strike while the test runs.


async def test_the_script_decides_exactly_like_the_python_reference(redis, test_id):
    clock = [NOW]
    limiter = RedisRateLimiter(redis, f"t{test_id}:rl:", clock=lambda: clock[0])
    limits = [per_minute(5), per_minute(10), Limit(rate=2, period_s=60, burst=3)]
    keys = [RateKey(f"k{i}", limit) for i, limit in enumerate(limits)]
    tats: list[int | None] = [None, None, None]
    rng = random.Random(20240501)
    outcomes = set()
    for _ in range(300):
        clock[0] += rng.choice([0, 0, 0, 500, 3_000, 12_000, 31_000])
        picked = rng.sample(range(3), rng.randint(1, 3))
        expected, new_tats = evaluate(
            [tats[i] for i in picked], [limits[i] for i in picked], clock[0]
        )
        assert await limiter.check([keys[i] for i in picked]) == expected
        for i, tat in zip(picked, new_tats or [], strict=False):
            tats[i] = tat
        outcomes.add(expected.allowed)
        stored = [await redis.get(limiter.key(k.suffix)) for k in keys]
        assert [int(v) if v else None for v in stored] == tats
    assert outcomes == {True, False}


async def test_a_refused_request_counts_against_none_of_its_keys(redis, test_id):
    limiter = RedisRateLimiter(redis, f"t{test_id}:rl:", clock=lambda: NOW)
    full, fresh = RateKey("full", per_minute(1)), RateKey("fresh", per_minute(10))
    assert (await limiter.check([full])).allowed
    decision = await limiter.check([fresh, full])
    assert not decision.allowed
    assert decision.retry_after_s == 60
    assert await redis.exists(limiter.key("fresh")) == 0
    assert int(await redis.get(limiter.key("full"))) == NOW + 60_000


async def test_the_script_uses_the_redis_clock_when_given_none(redis, test_id):
    limiter = RedisRateLimiter(redis, f"t{test_id}:rl:")
    group = PATHS["/v1/authenticate"].group
    keys = request_keys(make_policy(), group, "2001:db8::1", username="ann")
    decisions = [await limiter.check(keys) for _ in range(6)]
    assert [d.allowed for d in decisions] == [True] * 5 + [False]
    assert decisions[-1].retry_after_s in (11, 12)
    ttl = await redis.pttl(limiter.key("auth:ip:2001:db8::/64"))
    assert 59_000 < ttl <= 60_000


async def test_an_unreachable_redis_is_reported_as_unavailable():
    unreachable = make_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        limiter = RedisRateLimiter(unreachable, "tessera:rl:")
        with pytest.raises(RateLimiterUnavailableError):
            await limiter.check([RateKey("default:ip:203.0.113.7", per_minute(300))])
    finally:
        await unreachable.aclose()
