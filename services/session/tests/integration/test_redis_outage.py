"""Redis going away and coming back: quick 503s with Retry-After, then service by itself."""

import asyncio
import time

import redis

from tessera_shared.devservers import RedisClusterServers, free_cluster_ports
from tessera_shared.testing.waiting import eventually

from .conftest import bearer


async def test_while_redis_is_down_sign_ins_and_refreshes_are_quick_503s_with_retry_after(
    start_session, own_redis
):
    env = await start_session(redis_url=own_redis.url())
    env.identity.add_user("outage@example.com")
    login = await env.login("outage@example.com")

    own_redis.stop()
    attempts = {
        "sign-in": lambda: env.authenticate("outage@example.com"),
        "refresh": lambda: env.refresh(login.cookie),
        "sessions": lambda: env.client.get("/v1/sessions", headers=bearer(login.access_token)),
    }
    for what, attempt in attempts.items():
        started = time.monotonic()
        answer = await attempt()
        took = time.monotonic() - started
        assert (what, answer.status_code) == (what, 503)
        assert answer.json()["code"] == "service_unavailable"
        assert (what, answer.headers.get("retry-after")) == (what, "2")
        assert took <= 1.0, f"{what}: {took:.2f} s"

    own_redis.start()
    again = await eventually(attempts["sign-in"], lambda answer: answer.status_code == 200)
    assert again.json()["access_token"]


async def test_a_redis_cluster_losing_a_master_answers_503_never_500_then_heals(
    start_session, own_servers_dir
):
    """No replica to take over: commands meet a closed node (ConnectionError), then every node
    says CLUSTERDOWN (ClusterDownError); both are `service_unavailable`. The master's return
    heals the same app."""
    cluster = RedisClusterServers(own_servers_dir / "cluster", free_cluster_ports(3))
    cluster.start()
    try:
        env = await start_session(redis_url=cluster.url)
        users = [f"c{n}@example.com" for n in range(3)]
        logins = []
        for user in users:
            env.identity.add_user(user)
            logins.append(await env.login(user))

        victim = cluster.masters()[0]
        cluster.kill_node(victim)
        answers = [(await env.authenticate(user)).status_code for user in users]
        assert set(answers) <= {200, 503}, answers  # other masters' users may still pass

        def cluster_state() -> str:
            with redis.Redis(port=cluster.masters()[-1]) as node:
                return node.cluster("info")["cluster_state"]

        await eventually(lambda: asyncio.to_thread(cluster_state), lambda s: s == "fail")
        for user, login in zip(users, logins, strict=True):
            for answer in (await env.authenticate(user), await env.refresh(login.cookie)):
                assert answer.status_code == 503
                assert answer.json()["code"] == "service_unavailable"

        cluster.start_node(victim)
        again = await eventually(
            lambda: env.authenticate(users[0]), lambda answer: answer.status_code == 200
        )
        assert again.json()["access_token"]
    finally:
        cluster.stop()
