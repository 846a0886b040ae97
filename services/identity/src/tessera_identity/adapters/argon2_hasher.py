"""argon2id in a bounded thread pool: the event loop never hashes, and overload is a 503.

argon2-cffi releases the GIL while hashing, so `workers` threads use that many cores. A caller
waits at most `max_wait_s` for a free thread; beyond that the service answers 503 instead of
queueing without bound.
"""

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, distribution
from typing import TypeVar

from argon2 import PasswordHasher, Type, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tessera_shared.errors import Code, TesseraError

T = TypeVar("T")


def build_of(wheel_metadata: str) -> str:
    """`avx2` for argon2-cffi-bindings built here (`make install`, the image: x86-64-v3, tag
    `linux_*`), `portable` for a published wheel (manylinux, macOS, Windows tags)."""
    platforms = [
        line.partition(":")[2].strip().rsplit("-", 1)[-1]
        for line in wheel_metadata.splitlines()
        if line.startswith("Tag:")
    ]
    return "avx2" if platforms and all(p.startswith("linux_") for p in platforms) else "portable"


def installed_build() -> str:
    try:
        return build_of(distribution("argon2-cffi-bindings").read_text("WHEEL") or "")
    except PackageNotFoundError:
        return "portable"


class Argon2Hasher:
    def __init__(
        self,
        *,
        memory_kib: int,
        time_cost: int,
        parallelism: int,
        workers: int,
        max_wait_s: float,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._slots = asyncio.Semaphore(workers)
        self._max_wait_s = max_wait_s
        # Verified against when the username is unknown, so that answer costs the same time.
        # Made by `warm()` in the pool, not on the event loop while the service starts.
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(self._check, password_hash, password)

    async def warm(self) -> None:
        """Make the dummy hash in the pool (the lifespan calls this before serving)."""
        if self._dummy is None:
            self._dummy = await self._run(self._hasher.hash, "tessera-dummy-password")

    async def dummy_verify(self, password: str) -> None:
        await self.warm()
        await self._run(self._check, self._dummy or "", password)

    async def bound(self, budget_s: float = 0.2, most: int = 8) -> float:
        """Hashes per second of one thread (one core) with the configured parameters: the
        ceiling of sign-ins per core. At most `most` hashes or about `budget_s`, in the pool."""
        return await self._run(self._measure, budget_s, most)

    def describe(self, per_core: float) -> str:
        wanted = self._hasher
        return (
            f"argon2id m={wanted.memory_cost} t={wanted.time_cost} p={wanted.parallelism}: "
            f"~{per_core:.0f} hashes/s per core (build: {installed_build()})"
        )

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the stored hash is weaker than the configured parameters.

        Only upgrades: during a rolling deploy an older replica with weaker settings must not
        re-hash passwords back down.
        """
        try:
            stored = extract_parameters(password_hash)
        except InvalidHashError:
            return True
        wanted = self._hasher
        return stored.type is not Type.ID or (
            stored.memory_cost < wanted.memory_cost
            or stored.time_cost < wanted.time_cost
            or stored.parallelism < wanted.parallelism
        )

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _measure(self, budget_s: float, most: int) -> float:
        count, start = 0, time.perf_counter()
        while True:
            self._hasher.hash("tessera-throwaway-password")
            count += 1
            spent = time.perf_counter() - start
            # Stop before a further hash would overrun the budget (at least one is timed).
            if count >= most or spent + spent / count > budget_s:
                return count / spent

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        try:
            await asyncio.wait_for(self._slots.acquire(), self._max_wait_s)
        except TimeoutError:
            raise TesseraError(Code.SERVICE_UNAVAILABLE, headers={"retry-after": "1"}) from None
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, func, *args)
        finally:
            self._slots.release()
