"""Redis going away and coming back: every refusal is a quick 503 with Retry-After, then the
gateway serves again by itself."""

import asyncio
import time

from litestar.testing import AsyncTestClient
from redis import StrictRedis

from tessera_gateway.app import create_app
from tessera_gateway.bootstrap import create_api_key
from tessera_shared.devservers import RedisClusterServers, free_cluster_ports
from tessera_shared.redis import make_redis
from tessera_shared.testing.waiting import eventually

from .test_access_tokens import KEY, KID, Session, live


async def test_while_redis_is_down_every_gateway_refusal_is_a_quick_503_with_retry_after(
    own_redis, gateway_settings, test_id, session_upstream, identity_upstream
):
    prefix = f"t{test_id}:"
    session_upstream.signing_keys[KID] = KEY
    settings = gateway_settings(
        redis_url=own_redis.url(),
        session_jwks_url=f"{session_upstream.url}/.well-known/jwks.json",
        session_key_prefix=prefix,
    )
    redis = make_redis(own_redis.url())
    try:
        session = await live(redis, Session(prefix))
    finally:
        await redis.aclose()
    api_key = await create_api_key(settings, "outage")
    # Default settings: the default group passes the limiter while Redis is down (and then
    # meets the revocation check); the sign-in routes are refused by the limiter.
    requests = {
        "revocation check": ("GET", "/v1/sessions", session.bearer),
        "validate-session, answered by the gateway": (
            "GET",
            "/auth/validate-session",
            session.bearer,
        ),
        "API key check": ("POST", "/v1/users/resend-code", {"x-api-key": api_key}),
        "rate limit": ("POST", "/v1/authenticate", {}),
    }
    async with AsyncTestClient(create_app(settings)) as client:
        for method, path, headers in requests.values():
            answer = await client.request(method, path, headers=headers)
            assert answer.status_code == ok(path)
        own_redis.stop()
        for what, (method, path, headers) in requests.items():
            started = time.monotonic()
            answer = await client.request(method, path, headers=headers)
            took = time.monotonic() - started
            assert (what, answer.status_code) == (what, 503)
            assert answer.json()["code"] == "service_unavailable"
            assert (what, answer.headers.get("retry-after")) == (what, "2")
            assert took <= 1.0, f"{what}: {took:.2f} s"
        forwarded = len(session_upstream.seen) + len(identity_upstream.seen)

        own_redis.start()
        for method, path, headers in requests.values():
            await eventually(
                lambda m=method, p=path, h=headers: client.request(m, p, headers=h),
                lambda answer, p=path: answer.status_code == ok(p),
            )
    assert forwarded == len(requests) - 1  # all but validate-session, answered at the edge


def ok(path: str) -> int:
    """The status of a request that passed the checks: the stand-ins' echo, or the gateway's."""
    return 200 if path == "/auth/validate-session" else 201


async def test_a_redis_cluster_without_a_master_makes_every_check_a_503_never_a_500(
    own_servers_dir, gateway_settings, test_id, session_upstream, identity_upstream
):
    """A master dies with no replica to take over: the cluster answers CLUSTERDOWN
    (`ClusterDownError`, not a `ConnectionError`) until it is back; still 503s, then service."""
    cluster = RedisClusterServers(own_servers_dir / "cluster", free_cluster_ports(3), durable=True)
    cluster.start()
    try:
        prefix = f"t{test_id}:"
        session_upstream.signing_keys[KID] = KEY
        settings = gateway_settings(
            redis_url=cluster.url,
            session_jwks_url=f"{session_upstream.url}/.well-known/jwks.json",
            session_key_prefix=prefix,
        )
        redis = make_redis(cluster.url)
        try:
            session = await live(redis, Session(prefix))
        finally:
            await redis.aclose()
        api_key = await create_api_key(settings, "outage")
        requests = {
            "revocation check": ("GET", "/v1/sessions", session.bearer),
            "validate-session": ("GET", "/auth/validate-session", session.bearer),
            "API key check": ("POST", "/v1/users/resend-code", {"x-api-key": api_key}),
            "rate limit": ("POST", "/v1/authenticate", {}),
        }
        async with AsyncTestClient(create_app(settings)) as client:
            for method, path, headers in requests.values():
                assert (await client.request(method, path, headers=headers)).status_code == ok(path)
            victim = cluster.masters()[0]
            cluster.kill_node(victim)

            def state() -> str:
                with StrictRedis(port=cluster.masters()[-1]) as node:
                    return str(node.cluster("info")["cluster_state"])

            await eventually(lambda: asyncio.to_thread(state), lambda s: s == "fail")
            for what, (method, path, headers) in requests.items():
                answer = await client.request(method, path, headers=headers)
                assert (what, answer.status_code) == (what, 503)
                assert answer.json()["code"] == "service_unavailable"

            cluster.start_node(victim)
            for method, path, headers in requests.values():
                await eventually(
                    lambda m=method, p=path, h=headers: client.request(m, p, headers=h),
                    lambda answer, p=path: answer.status_code == ok(p),
                )
    finally:
        cluster.stop()
