"""Session-service operations through a Redis failover, with the client `make_redis` built from
the URL and never recreated: while the primary (Sentinel) or a master (Cluster) is SIGKILLed,
the only errors are of the `UNAVAILABLE` kind (answered 503 by the app), then every operation
succeeds again. The window (kill → the first of a run of successes) is printed (`-s` shows it)."""

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from tessera_session.adapters.challenges import RedisChallenges
from tessera_session.adapters.families import RedisFamilies
from tessera_session.domain.family import NewFamily, Rotation, RotationAttempt
from tessera_shared.devservers import RedisClusterServers, RedisSentinelServers
from tessera_shared.redis import UNAVAILABLE, RedisClient, make_redis

pytestmark = pytest.mark.cluster

STEADY = 20
"""Successes in a row after the kill that count as "recovered"."""
LIMIT_S = 25.0


@dataclass
class Run:
    kill_at: float = 0.0
    recovered_at: float = 0.0
    unavailable: list[str] = field(default_factory=list)
    other: list[BaseException] = field(default_factory=list)
    lost: int = 0
    """Rotations that found no family written just before the kill (asynchronous replication
    loses such writes; not an error of the client)."""
    ok: int = 0

    @property
    def window_s(self) -> float:
        return self.recovered_at - self.kill_at


async def _one_sign_in(redis: RedisClient, prefix: str, run: Run) -> None:
    """What a sign-in, a refresh and a session list do: scripts, a pipeline, single reads."""
    families = RedisFamilies(
        redis, prefix, sliding_s=600, absolute_s=3600, grace_s=10, max_per_user=5
    )
    challenges = RedisChallenges(redis, prefix)
    user, challenge = str(uuid.uuid4()), str(uuid.uuid4())
    family = NewFamily(
        user_id=user,
        family_id=str(uuid.uuid4()),
        device_id="d",
        app_id="web",
        amr="pwd totp",
        ip="127.0.0.1",
        user_agent="failover",
        digest="a" * 64,
    )
    await challenges.open(user, challenge, 60)
    assert await challenges.reserve(user, challenge) is not None
    await families.create(family, completes=challenge)
    rotated = await families.rotate(
        RotationAttempt(
            user_id=user,
            family_id=family.family_id,
            presented="a" * 64,
            successors=["b" * 64],
            device="d",
            app="web",
            ip="127.0.0.1",
            user_agent="failover",
        )
    )
    if rotated.outcome != Rotation.ROTATED:
        run.lost += 1
    await families.sessions(user)
    await families.is_active(user, family.family_id)


async def _through_failover(url: str, kill: Callable[[], object], prefix: str) -> Run:
    redis = make_redis(url, pool_size=10)
    run = Run()
    try:
        for _ in range(10):  # warm: connections open, scripts loaded
            await _one_sign_in(redis, prefix, run)
        run.kill_at = time.monotonic()
        await asyncio.to_thread(kill)
        streak = 0
        while streak < STEADY:
            if time.monotonic() - run.kill_at > LIMIT_S:
                pytest.fail(f"not recovered in {LIMIT_S}s: {run}")
            try:
                await _one_sign_in(redis, prefix, run)
            except UNAVAILABLE as exc:
                run.unavailable.append(type(exc).__name__)
                streak = 0
                await asyncio.sleep(0.05)
                continue
            except Exception as exc:
                run.other.append(exc)
                streak = 0
                continue
            if streak == 0:
                run.recovered_at = time.monotonic()
            streak += 1
            run.ok += 1
    finally:
        await redis.aclose()
    return run


def _report(what: str, run: Run) -> None:
    kinds = sorted(set(run.unavailable))
    print(
        f"\n{what}: unavailable for {run.window_s:.2f}s after the kill "
        f"({len(run.unavailable)} failed operations: {kinds}; lost writes {run.lost})"
    )


async def test_sentinel_failover_is_followed_without_a_new_client(
    redis_sentinel: RedisSentinelServers, test_id: str
) -> None:
    before = redis_sentinel.current_primary()
    killed: list[int] = []
    try:
        run = await _through_failover(
            redis_sentinel.url,
            lambda: killed.append(redis_sentinel.kill_primary()),
            f"t{test_id}:",
        )
    finally:
        redis_sentinel.start()  # the killed primary comes back as a replica
    _report("sentinel", run)
    assert killed == [before]
    assert redis_sentinel.current_primary() != before
    assert run.other == []
    assert run.unavailable, "the kill should have been noticed"
    assert run.window_s < 15


async def test_cluster_failover_is_followed_without_a_new_client(
    own_redis_cluster: RedisClusterServers, test_id: str
) -> None:
    victim = own_redis_cluster.masters()[0]
    run = await _through_failover(
        own_redis_cluster.url,
        lambda: own_redis_cluster.kill_node(victim),
        f"t{test_id}:",
    )
    _report("cluster", run)
    assert victim not in own_redis_cluster.masters()
    assert len(own_redis_cluster.masters()) == 3
    assert run.other == []
    assert run.unavailable, "the kill should have been noticed"
    assert run.window_s < 15
