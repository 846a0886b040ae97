"""Fails fast while PostgreSQL is known to be unreachable, instead of at the pool's timeout.

Without it every request waits the pool's whole timeout (5 s) for a connection that cannot
come, then answers 503. The gate tells "the database is gone" from "the pool is busy": when a
request has waited `suspect_after_s`, one probe (a fresh connection, outside the pool) asks
the server. If the server does not answer, the gate closes: waiting and new requests fail at
once, and a background probe every `probe_interval_s` opens it again when the server is back.
A busy pool with a healthy server keeps its requests waiting: the probe succeeds, and is not
repeated for `probe_interval_s` (each probe costs the server a new backend process).
"""

import asyncio
import contextlib
import logging
import math
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

log = logging.getLogger("tessera.identity.db")

Conn = AsyncConnection[Any]
Pool = AsyncConnectionPool[Conn]


FRESH_S = 1.0
"""A connection given back this recently was answering then: it skips the liveness check."""
_given_back: "weakref.WeakKeyDictionary[Conn, float]" = weakref.WeakKeyDictionary()


async def check_unless_fresh(conn: Conn) -> None:
    """The pool's check before handing a connection out: a round trip to the server, except
    for a connection given back through the gate within `FRESH_S` (one request's statements
    just ran on it). Under load that is every connection, and the check was a second round
    trip per request (6 % of identity's CPU on `GET /v1/users/me`). A server restart in that
    second fails at most the requests already holding a connection; the pool drops it."""
    given_back = _given_back.pop(conn, None)
    if given_back is not None and time.monotonic() - given_back < FRESH_S:
        return
    await Pool.check_connection(conn)


class DatabaseUnreachableError(Exception):
    """PostgreSQL did not answer a probe; the request is refused without waiting."""


class DatabaseGate:
    """Hands out the pool's connections; see the module docstring.

    `probe`: connects to the server directly and disconnects, raising when it cannot.
    """

    def __init__(
        self,
        pool: Pool,
        probe: Callable[[], Awaitable[None]],
        *,
        timeout_s: float = 5.0,
        suspect_after_s: float = 0.2,
        probe_timeout_s: float = 2.0,
        probe_interval_s: float = 0.5,
    ) -> None:
        self._pool = pool
        self._probe = probe
        self._timeout_s = timeout_s
        self._suspect_after_s = suspect_after_s
        self._probe_timeout_s = probe_timeout_s
        self._probe_interval_s = probe_interval_s
        self._down = asyncio.Event()
        self._answered_at = -math.inf
        self._checking: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None

    @property
    def down(self) -> bool:
        """Whether PostgreSQL is known to be unreachable right now."""
        return self._down.is_set()

    async def getconn(self, timeout_s: float | None = None) -> Conn:
        """A pooled connection; raises at once while the server is known to be unreachable,
        `PoolTimeout` when the pool stays busy for the whole timeout."""
        if self.down:
            raise DatabaseUnreachableError
        wait = self._timeout_s if timeout_s is None else timeout_s
        getting = asyncio.ensure_future(self._pool.getconn(timeout=wait))
        try:
            done, _ = await asyncio.wait({getting}, timeout=self._suspect_after_s)
            if not done:
                self._suspect()
                gone = asyncio.ensure_future(self._down.wait())
                try:
                    await asyncio.wait({getting, gone}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    gone.cancel()
        except BaseException:  # the request itself was cancelled: leave no connection behind
            await self._abandon(getting)
            raise
        if not getting.done():
            await self._abandon(getting)
            raise DatabaseUnreachableError
        return getting.result()

    async def putconn(self, conn: Conn) -> None:
        _given_back[conn] = time.monotonic()
        await self._pool.putconn(conn)

    @contextlib.asynccontextmanager
    async def connection(self, timeout_s: float | None = None) -> AsyncIterator[Conn]:
        """As the pool's own: the transaction commits on a clean exit, else rolls back."""
        conn = await self.getconn(timeout_s)
        try:
            async with conn:  # a pooled connection is not closed by this, only its transaction
                yield conn
        finally:
            await self.putconn(conn)

    async def aclose(self) -> None:
        for task in (self._checking, self._watching):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _abandon(self, getting: "asyncio.Future[Conn]") -> None:
        """Stop waiting for a connection; give one back if it came all the same."""
        getting.cancel()
        await asyncio.wait({getting})
        if not getting.cancelled() and getting.exception() is None:
            await self._pool.putconn(getting.result())

    def _suspect(self) -> None:
        if self._checking is not None or self.down:
            return
        if time.monotonic() - self._answered_at < self._probe_interval_s:
            return  # it answered a moment ago: the pool is busy, not the server gone
        self._checking = asyncio.create_task(self._check())

    async def _reachable(self) -> Exception | None:
        """None when the server accepted a connection, else why not."""
        try:
            async with asyncio.timeout(self._probe_timeout_s):
                await self._probe()
        except Exception as exc:  # OperationalError, TimeoutError, OSError: all mean "not now"
            return exc
        self._answered_at = time.monotonic()
        return None

    async def _check(self) -> None:
        try:
            failure = await self._reachable()
            if failure is not None and not self.down:
                log.warning(
                    "PostgreSQL unreachable (%s): answering 503 until it is back",
                    type(failure).__name__,
                )
                self._down.set()
                self._watching = asyncio.create_task(self._watch())
        finally:
            self._checking = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._probe_interval_s)
            if await self._reachable() is None:
                break
        log.warning("PostgreSQL reachable again")
        self._down.clear()
        self._watching = None
        # Connections the pool still holds died with the server; fresh ones are made now.
        with contextlib.suppress(Exception):
            await self._pool.check()
