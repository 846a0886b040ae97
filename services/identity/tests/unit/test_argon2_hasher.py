"""The argon2id hasher: bounded thread pool, 503 on overload, verify and rehash decisions."""

import asyncio
import re
from collections.abc import Iterator

import pytest
from argon2 import Type
from argon2.low_level import hash_secret

from tessera_identity.adapters.argon2_hasher import Argon2Hasher, build_of
from tessera_shared.errors import TesseraError

PASSWORD = "correct horse battery staple"


def make(
    *, memory_kib: int = 8192, time_cost: int = 1, workers: int = 2, max_wait_s: float = 2.0
) -> Argon2Hasher:
    return Argon2Hasher(
        memory_kib=memory_kib,
        time_cost=time_cost,
        parallelism=1,
        workers=workers,
        max_wait_s=max_wait_s,
    )


@pytest.fixture
def hasher() -> Iterator[Argon2Hasher]:
    made = make()
    yield made
    made.close()


@pytest.fixture
def saturable() -> Iterator[Argon2Hasher]:
    """One thread, expensive hashes, a 10 ms wait: a second caller cannot get a thread."""
    made = make(workers=1, max_wait_s=0.01, memory_kib=65536, time_cost=3)
    yield made
    made.close()


async def test_a_saturated_hasher_answers_service_unavailable_instead_of_queueing(
    saturable: Argon2Hasher,
) -> None:
    results = await asyncio.gather(
        *(saturable.hash(PASSWORD) for _ in range(5)), return_exceptions=True
    )

    refused = [r for r in results if isinstance(r, TesseraError)]
    hashed = [r for r in results if isinstance(r, str)]
    assert len(refused) + len(hashed) == 5, results  # nothing else went wrong
    assert refused
    assert hashed
    assert {r.code for r in refused} == {"service_unavailable"}
    assert all(r.headers == {"retry-after": "1"} for r in refused)
    assert all(h.startswith("$argon2id$v=19$m=65536,t=3,p=1$") for h in hashed)


async def test_a_saturated_hasher_recovers_once_its_thread_is_free(
    saturable: Argon2Hasher,
) -> None:
    await asyncio.gather(*(saturable.hash(PASSWORD) for _ in range(5)), return_exceptions=True)

    # Every refused caller gave back nothing it did not take: the one thread is free again.
    assert (await saturable.hash(PASSWORD)).startswith("$argon2id$")
    assert await saturable.verify(await saturable.hash(PASSWORD), PASSWORD)


async def test_hashes_are_argon2id_with_the_configured_parameters_and_a_fresh_salt(
    hasher: Argon2Hasher,
) -> None:
    first = await hasher.hash(PASSWORD)
    second = await hasher.hash(PASSWORD)
    assert first.startswith("$argon2id$v=19$m=8192,t=1,p=1$")
    assert first != second
    assert PASSWORD not in first


async def test_verify_accepts_the_password_and_refuses_any_other(hasher: Argon2Hasher) -> None:
    stored = await hasher.hash(PASSWORD)
    assert await hasher.verify(stored, PASSWORD) is True
    assert await hasher.verify(stored, PASSWORD + " ") is False
    assert await hasher.verify(stored, "") is False


@pytest.mark.parametrize("stored", ["", "not a hash", "$argon2id$v=19$m=8192,t=1,p=1$broken"])
async def test_verify_against_a_broken_hash_is_false_not_an_error(
    hasher: Argon2Hasher, stored: str
) -> None:
    assert await hasher.verify(stored, PASSWORD) is False


async def test_a_hash_made_with_other_parameters_needs_a_rehash(hasher: Argon2Hasher) -> None:
    stronger = make(memory_kib=16384, time_cost=2)
    try:
        weak = await hasher.hash(PASSWORD)
        strong = await stronger.hash(PASSWORD)
        assert stronger.needs_rehash(weak) is True
        assert stronger.needs_rehash(strong) is False
        assert hasher.needs_rehash(weak) is False
        assert await stronger.verify(weak, PASSWORD)  # the old hash still signs in
    finally:
        stronger.close()


@pytest.mark.parametrize("stored", ["", "$2b$12$abcdefghijklmnopqrstuu"])
def test_a_hash_that_is_not_argon2id_needs_a_rehash(hasher: Argon2Hasher, stored: str) -> None:
    assert hasher.needs_rehash(stored) is True


async def test_dummy_verify_costs_a_check_and_returns_nothing(hasher: Argon2Hasher) -> None:
    assert await hasher.dummy_verify(PASSWORD) is None
    assert await hasher.dummy_verify("tessera-dummy-password") is None


async def test_a_stronger_stored_hash_is_never_rehashed_down():
    strong = Argon2Hasher(memory_kib=16384, time_cost=2, parallelism=1, workers=1, max_wait_s=5)
    weak = Argon2Hasher(memory_kib=8192, time_cost=1, parallelism=1, workers=1, max_wait_s=5)
    stored = await strong.hash("a password of some length")
    assert weak.needs_rehash(stored) is False
    assert strong.needs_rehash(await weak.hash("a password of some length")) is True
    strong.close()
    weak.close()


# Made by the portable argon2-cffi-bindings wheel from PyPI (26.2.0): the production parameters,
# and two lanes (libargon2's threaded path).
PORTABLE_HASHES = {
    (19456, 2, 1): "$argon2id$v=19$m=19456,t=2,p=1$dGVzc2VyYS1rYXQtc2FsdA$"
    "cCuQKov85tYsk4I6Puwyvel5uUmm/QFeiSEz4XcT0ic",
    (8192, 1, 2): "$argon2id$v=19$m=8192,t=1,p=2$dGVzc2VyYS1rYXQtc2FsdA$"
    "bpSibqRY+dNUjehfo34gq0MHyRmWr2q0MdASGqaXjxw",
}


@pytest.mark.parametrize(("parameters", "portable_hash"), PORTABLE_HASHES.items())
async def test_the_installed_build_and_the_portable_wheel_make_the_same_hashes(
    parameters: tuple[int, int, int], portable_hash: str
) -> None:
    # Same salt, same bytes: so a hash made by either build verifies with the other.
    memory_kib, time_cost, parallelism = parameters
    made_here = hash_secret(
        b"tessera-known-answer",
        b"tessera-kat-salt",
        time_cost=time_cost,
        memory_cost=memory_kib,
        parallelism=parallelism,
        hash_len=32,
        type=Type.ID,
    ).decode()
    assert made_here == portable_hash
    here = Argon2Hasher(
        memory_kib=memory_kib,
        time_cost=time_cost,
        parallelism=parallelism,
        workers=1,
        max_wait_s=5,
    )
    try:
        assert await here.verify(portable_hash, "tessera-known-answer") is True
        assert await here.verify(portable_hash, "tessera-known-answer!") is False
    finally:
        here.close()


def test_a_published_wheel_is_the_portable_build_and_one_built_here_the_avx2_build() -> None:
    published = "Wheel-Version: 1.0\nTag: cp310-abi3-manylinux_2_26_x86_64\n"
    assert build_of(published) == "portable"
    assert build_of("Tag: cp310-abi3-macosx_10_9_universal2\n") == "portable"
    assert build_of("Wheel-Version: 1.0\nTag: cp310-abi3-linux_x86_64\n") == "avx2"
    assert build_of("") == "portable"


async def test_the_bound_is_measured_in_the_pool_and_described_with_the_parameters(
    hasher: Argon2Hasher,
) -> None:
    await hasher.warm()
    per_core = await hasher.bound(budget_s=0.05)
    assert per_core > 0
    line = hasher.describe(per_core)
    assert re.fullmatch(
        r"argon2id m=8192 t=1 p=1: ~\d+ hashes/s per core \(build: (avx2|portable)\)", line
    )
