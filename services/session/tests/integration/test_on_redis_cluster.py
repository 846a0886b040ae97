"""Every Redis script and multi-key operation of the session service on a real 3-master Redis
Cluster: each touches one user's keys (`{u:<user>}`), so one slot; a CROSSSLOT error (or redis-py
refusing keys of several slots) fails the test. Users are many so their slots spread over all
three masters."""

import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, ResponseError

from tessera_session.adapters.challenges import RedisChallenges
from tessera_session.adapters.credential_floor import RedisCredentialFloor
from tessera_session.adapters.families import RedisFamilies
from tessera_session.domain.challenge import ChallengeState
from tessera_session.domain.family import NewFamily, Rotation, RotationAttempt
from tessera_shared.devservers import RedisClusterServers
from tessera_shared.redis import RedisClient, make_redis, ping
from tessera_shared.tokens.revocation import RevocationCheck

pytestmark = pytest.mark.cluster

USERS = 12


@pytest.fixture
async def cluster(redis_cluster: RedisClusterServers) -> AsyncIterator[RedisClient]:
    client = make_redis(redis_cluster.url)
    assert isinstance(client, RedisCluster)
    try:
        yield client
    finally:
        await client.aclose()


def _family(user: str, device: str, digest: str) -> NewFamily:
    return NewFamily(
        user_id=user,
        family_id=str(uuid.uuid4()),
        device_id=device,
        app_id="web",
        amr="pwd",
        ip="127.0.0.1",
        user_agent="test",
        digest=digest,
    )


def _attempt(family: NewFamily, presented: str, successor: str) -> RotationAttempt:
    return RotationAttempt(
        user_id=family.user_id,
        family_id=family.family_id,
        presented=presented,
        successors=[successor],
        device=family.device_id,
        app="web",
        ip="127.0.0.1",
        user_agent="test",
    )


async def test_the_cluster_refuses_keys_of_several_slots(cluster: RedisClient) -> None:
    """What the tests below would meet if a script's keys were not all one user's."""
    script = cluster.register_script("return redis.call('EXISTS', KEYS[1], KEYS[2])")
    with pytest.raises((RedisClusterException, ResponseError)):
        await script(keys=["{u:a}:x", "{u:b}:x"])


async def test_every_families_script_on_a_cluster(cluster: RedisClient, test_id: str) -> None:
    prefix = f"t{test_id}:"
    families = RedisFamilies(
        cluster, prefix, sliding_s=600, absolute_s=3600, grace_s=10, max_per_user=2
    )
    challenges = RedisChallenges(cluster, prefix)
    revocations = RevocationCheck(cluster, prefix)
    masters_used = set()
    for n in range(USERS):
        user = f"user-{n}-{test_id}"
        slot = await cluster.cluster_keyslot(f"{prefix}{{u:{user}}}:families")
        masters_used.add(cluster.nodes_manager.get_node_from_slot(slot).name)
        # create; create replacing the same device's family; create beyond the cap (2)
        first = _family(user, "d1", "a" * 64)
        assert await families.create(first) is not None
        again = _family(user, "d1", "b" * 64)
        created = await families.create(again)
        assert created is not None
        assert created.replaced == first.family_id
        await families.create(_family(user, "d2", "c" * 64))
        capped = await families.create(_family(user, "d3", "d" * 64))
        assert capped is not None
        assert capped.capped == 1
        # create completing an MFA challenge (5 keys: family, set, device, challenge, its set)
        challenge = str(uuid.uuid4())
        await challenges.open(user, challenge, 300)
        mfa = _family(user, "d4", "e" * 64)
        assert await families.create(mfa, completes=challenge) is not None
        assert await families.create(_family(user, "d5", "f" * 64), completes=challenge) is None
        # rotate: rotated, replayed (a straggler), reuse (revokes)
        assert (await families.rotate(_attempt(mfa, "e" * 64, "1" * 64))).outcome == (
            Rotation.ROTATED
        )
        straggler = await families.rotate(_attempt(mfa, "e" * 64, "1" * 64))
        assert straggler.outcome == Rotation.REPLAYED
        # the pipeline of `sessions` (one HGETALL per family, all of the user's slot)
        listed = await families.sessions(user)
        assert {s.id for s in listed} >= {mfa.family_id}
        assert await families.is_active(user, mfa.family_id)
        claims = type("Claims", (), {"sub": user, "sid": mfa.family_id})()
        assert await revocations.is_active(claims)  # type: ignore[arg-type]
        # delete one, delete all but one
        assert len(listed) == 2  # the cap
        other = next(s.id for s in listed if s.id != mfa.family_id)
        assert await families.delete(user, other)
        await families.create(_family(user, "d6", "g" * 64))
        assert await families.delete_all(user, keep=mfa.family_id) == 1
        assert [s.id for s in await families.sessions(user)] == [mfa.family_id]
        reuse = await families.rotate(_attempt(mfa, "e" * 64, "2" * 64))
        assert reuse.outcome == Rotation.REUSE
        assert not await families.is_active(user, mfa.family_id)
        await families.create(_family(user, "d7", "h" * 64))
        assert await families.delete_all(user) == 1
        assert await families.sessions(user) == []
    assert len(masters_used) == 3, "the users' slots should spread over all masters"


async def test_every_challenge_and_floor_script_on_a_cluster(
    cluster: RedisClient, test_id: str
) -> None:
    prefix = f"t{test_id}:"
    challenges = RedisChallenges(cluster, prefix, max_wrong=2)
    floor = RedisCredentialFloor(cluster, prefix)
    for n in range(USERS):
        user = f"user-{n}-{test_id}"
        one, two = str(uuid.uuid4()), str(uuid.uuid4())
        await challenges.open(user, one, 300)
        await challenges.open(user, two, 300)
        assert await challenges.reserve(user, one) == ChallengeState.OPEN
        await challenges.release(user, one)
        assert await challenges.reserve(user, one) == ChallengeState.OPEN
        assert await challenges.wrong(user, one) == ChallengeState.OPEN
        assert await challenges.reserve(user, one) == ChallengeState.OPEN
        assert await challenges.wrong(user, one) == ChallengeState.EXHAUSTED
        assert await challenges.close_all(user) == 1  # `two`; `one` was already gone
        await floor.raise_to(user, 3)
        await floor.raise_to(user, 2)  # never lowers
        assert not await floor.admits(user, 2)
        assert await floor.admits(user, 3)


async def test_ping_and_close(redis_cluster: RedisClusterServers) -> None:
    client = make_redis(redis_cluster.url)
    await ping(client)
    await client.aclose()
