"""The challenge adapter against real Redis: the transitions of `domain/challenge.py`, and races."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tessera_session.adapters.challenges import RedisChallenges
from tessera_session.adapters.families import RedisFamilies
from tessera_session.domain.challenge import MAX_WRONG_CODES, ChallengeState
from tessera_session.domain.family import NewFamily

OPEN, GONE, EXHAUSTED = ChallengeState.OPEN, ChallengeState.GONE, ChallengeState.EXHAUSTED


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def challenges(redis_client: Redis, test_id: str) -> RedisChallenges:
    return RedisChallenges(redis_client, f"t{test_id}:")


@pytest.fixture
async def complete(redis_url: str, test_id: str) -> AsyncIterator:
    """A sign-in completing the challenge: `RedisFamilies.create`, the one script that does it."""
    client = Redis.from_url(redis_url)
    families = RedisFamilies(
        client, f"t{test_id}:", sliding_s=600, absolute_s=3600, grace_s=10, max_per_user=50
    )

    async def completing(user: str, cid: str) -> ChallengeState:
        family = NewFamily(
            user_id=user,
            family_id=str(uuid.uuid4()),
            device_id=str(uuid.uuid4()),
            app_id="web",
            amr="pwd totp",
            ip="127.0.0.1",
            user_agent="test",
            digest="d" * 64,
        )
        created = await families.create(family, completes=cid)
        return GONE if created is None else ChallengeState.COMPLETED

    try:
        yield completing
    finally:
        await client.aclose()


def ids() -> tuple[str, str]:
    return str(uuid.uuid4()), str(uuid.uuid4())


async def test_an_opened_challenge_lives_as_long_as_its_token_and_a_check_keeps_that_ttl(
    challenges, redis_client
):
    user, cid = ids()

    await challenges.open(user, cid, 300)
    await challenges.reserve(user, cid)
    await challenges.wrong(user, cid)

    key = challenges.key(user, cid)
    assert key.endswith(f"{{u:{user}}}:mfa:{cid}")
    assert await redis_client.hgetall(key) == {"wrong": "1", "pending": "0"}
    assert 290 < await redis_client.ttl(key) <= 300


async def test_the_fifth_wrong_code_exhausts_the_challenge_and_deletes_it(
    challenges, redis_client, complete
):
    user, cid = ids()
    await challenges.open(user, cid, 300)

    outcomes = []
    for _ in range(MAX_WRONG_CODES):
        assert await challenges.reserve(user, cid) is OPEN
        outcomes.append(await challenges.wrong(user, cid))

    assert outcomes == [OPEN] * (MAX_WRONG_CODES - 1) + [EXHAUSTED]
    assert not await redis_client.exists(challenges.key(user, cid))
    assert await challenges.reserve(user, cid) is GONE
    assert await complete(user, cid) is GONE


async def test_parallel_reservations_never_exceed_the_attempt_limit(challenges):
    user, cid = ids()
    await challenges.open(user, cid, 300)

    taken = await asyncio.gather(*(challenges.reserve(user, cid) for _ in range(20)))

    assert taken.count(OPEN) == MAX_WRONG_CODES
    assert taken.count(EXHAUSTED) == 20 - MAX_WRONG_CODES
    # Checks that could not be made are given back, and the attempts can be used again.
    await asyncio.gather(*(challenges.release(user, cid) for _ in range(MAX_WRONG_CODES)))
    assert await challenges.reserve(user, cid) is OPEN


async def test_a_released_attempt_costs_nothing(challenges, redis_client):
    user, cid = ids()
    await challenges.open(user, cid, 300)

    for _ in range(3 * MAX_WRONG_CODES):
        assert await challenges.reserve(user, cid) is OPEN
        await challenges.release(user, cid)

    assert await redis_client.hgetall(challenges.key(user, cid)) == {"wrong": "0", "pending": "0"}


async def test_of_parallel_completions_exactly_one_gets_the_challenge(
    challenges, redis_client, complete
):
    user, cid = ids()
    await challenges.open(user, cid, 300)

    done = await asyncio.gather(*(complete(user, cid) for _ in range(10)))

    assert done.count(ChallengeState.COMPLETED) == 1
    assert done.count(GONE) == 9
    assert not await redis_client.exists(challenges.key(user, cid))


async def test_no_operation_brings_back_a_challenge_that_is_gone(
    challenges, redis_client, complete
):
    user, cid = ids()

    assert await challenges.reserve(user, cid) is GONE
    assert await challenges.wrong(user, cid) is GONE
    await challenges.release(user, cid)
    assert await complete(user, cid) is GONE

    # A key without TTL would live forever: none may be created for an unknown challenge.
    assert not await redis_client.exists(challenges.key(user, cid))


async def test_a_challenge_completed_while_a_wrong_code_was_in_flight_stays_gone(
    challenges, redis_client, complete
):
    user, cid = ids()
    await challenges.open(user, cid, 300)
    await challenges.reserve(user, cid)
    await challenges.reserve(user, cid)

    assert await complete(user, cid) is ChallengeState.COMPLETED
    assert await challenges.wrong(user, cid) is GONE
    await challenges.release(user, cid)

    assert not await redis_client.exists(challenges.key(user, cid))


async def test_closing_all_ends_every_open_challenge_of_the_user_and_only_theirs(
    challenges, redis_client, complete
):
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    cids = [str(uuid.uuid4()) for _ in range(3)]
    for cid in cids:
        await challenges.open(user, cid, 300)
    await challenges.open(other, cids[0], 300)
    assert await complete(user, cids[2]) is ChallengeState.COMPLETED

    assert await challenges.close_all(user) == 2

    for cid in cids:
        assert await challenges.reserve(user, cid) is GONE
    assert await redis_client.exists(challenges.keys(user, cids[0])[1]) == 0
    assert await challenges.reserve(other, cids[0]) is OPEN
    assert await challenges.close_all(user) == 0


async def test_the_set_of_open_challenges_forgets_completed_and_exhausted_ones(
    challenges, redis_client, complete
):
    user, done = ids()
    exhausted = str(uuid.uuid4())
    await challenges.open(user, done, 300)
    await challenges.open(user, exhausted, 120)
    listing = challenges.keys(user, done)[1]
    assert 290 < await redis_client.ttl(listing) <= 300

    await complete(user, done)
    for _ in range(MAX_WRONG_CODES):
        await challenges.reserve(user, exhausted)
        await challenges.wrong(user, exhausted)

    assert not await redis_client.exists(listing)
