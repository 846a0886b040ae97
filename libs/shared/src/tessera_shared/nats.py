"""One NATS connection per process that comes up in the background and heals by itself.

The first connect is retried forever with backoff (a part starts while NATS is down and turns
ready when it appears); after each (re)connect the `on_connect` hook re-declares what the part
needs (streams, consumers), since a restarted server may have lost it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

log = logging.getLogger("tessera.nats")
OnConnect = Callable[[JetStreamContext], Awaitable[None]]


class NatsConnection:
    def __init__(self, url: str, name: str, on_connect: OnConnect | None = None) -> None:
        self.url = url
        self.name = name
        self._on_connect = on_connect
        self._client: Client | None = None
        self._declared = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def js(self) -> JetStreamContext:
        if self._client is None or not self._client.is_connected:
            raise ConnectionError("NATS is not connected")
        return self._client.jetstream(timeout=5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"{self.name}-nats")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None and not self._client.is_closed:
            # close, not drain: every JetStream publish was already acknowledged, and draining
            # a pull subscription waits out its full timeout.
            await self._client.close()

    async def check(self) -> None:
        """Readiness: connected, JetStream answering, and `on_connect` has succeeded."""
        if not self._declared.is_set():
            raise ConnectionError("NATS topology not declared yet")
        await self.js.account_info()

    async def _connect_forever(self) -> None:
        delay = 0.1
        while self._client is None:
            try:
                self._client = await nats.connect(
                    self.url,
                    name=self.name,
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    reconnected_cb=self._reconnected,
                    disconnected_cb=self._disconnected,
                    error_cb=self._error,
                )
            except Exception as exc:
                log.warning("NATS not reachable yet (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        await self._declare_until_done()

    async def _declare_until_done(self) -> None:
        delay = 0.1
        while True:
            try:
                if self._on_connect is not None:
                    await self._on_connect(self.js)
                self._declared.set()
                return
            except Exception as exc:
                log.warning("declaring NATS topology failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _reconnected(self) -> None:
        log.info("NATS reconnected")
        self._declared.clear()
        asyncio.create_task(self._declare_until_done())  # noqa: RUF006 - runs to completion

    async def _disconnected(self) -> None:
        log.warning("NATS disconnected")

    async def _error(self, exc: Exception) -> None:
        log.debug("NATS client error: %s", type(exc).__name__)
