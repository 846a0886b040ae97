"""Publishes outbox rows to JetStream, in order, each with `Nats-Msg-Id` = event id.

Woken at once by LISTEN/NOTIFY when a transaction writes an event, and every `poll_s` anyway
(a missed notification, or events left while NATS was down). After a failed publish (NATS
away, or a JetStream stream electing a new leader: every publish fails at once) it waits
0.1 s, doubling up to 1 s, before the next attempt, rather than retrying and logging at the
pace new events arrive. Rows are claimed with
`FOR UPDATE SKIP LOCKED`, so several identity replicas can relay side by side; JetStream's
duplicate window drops a message published twice by a crash between publish and mark.
"""

import asyncio
import logging
from typing import Any

import psycopg
from opentelemetry.trace import SpanKind
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from tessera_identity.adapters.sql_outbox import CHANNEL
from tessera_shared.nats import NatsConnection
from tessera_shared.telemetry import context_of, trace_headers, tracer

log = logging.getLogger("tessera.outbox")
_tracer = tracer("tessera.identity.outbox")

_CLAIM = """
SELECT id, subject, payload, headers FROM outbox WHERE published_at IS NULL
ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED
"""


class OutboxRelay:
    def __init__(
        self,
        database_url: str,
        pool: AsyncConnectionPool[AsyncConnection[Any]],
        nats: NatsConnection,
        *,
        batch: int = 100,
        poll_s: float = 2.0,
    ) -> None:
        self._database_url = database_url
        self._pool = pool
        self._nats = nats
        self._batch = batch
        self._poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._failed = False
        """The last publish attempt failed; the next waits `_backoff_s`."""
        self._backoff_s = 0.0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            try:
                async with await AsyncConnection.connect(
                    self._database_url, autocommit=True, connect_timeout=3
                ) as listener:
                    await listener.execute(f"LISTEN {CHANNEL}")
                    while True:
                        while await self.relay_once() == self._batch:
                            pass  # a full batch: there may be more
                        if self._failed:
                            self._backoff_s = min(max(self._backoff_s * 2, 0.1), 1.0)
                            await asyncio.sleep(self._backoff_s)
                            continue
                        self._backoff_s = 0.0
                        async for _ in listener.notifies(timeout=self._poll_s, stop_after=1):
                            pass
            except asyncio.CancelledError:
                raise
            except (psycopg.Error, OSError) as exc:
                log.warning("outbox relay paused: %s; retrying", type(exc).__name__)
                await asyncio.sleep(1.0)

    async def relay_once(self) -> int:
        """Publish up to one batch; returns how many were published."""
        try:
            js = self._nats.js
        except ConnectionError:
            return 0
        published: list[Any] = []
        self._failed = False
        async with self._pool.connection(timeout=5.0) as conn, conn.transaction():
            rows = await (await conn.execute(_CLAIM, (self._batch,))).fetchall()
            for event_id, subject, payload, headers in rows:
                try:
                    with _tracer.start_as_current_span(
                        f"{subject} publish",
                        context=context_of(headers),
                        kind=SpanKind.PRODUCER,
                        attributes={
                            "messaging.system": "nats",
                            "messaging.message.id": str(event_id),
                        },
                    ):
                        # The consumer continues this span (it carries the request's trace).
                        sent = {**headers, **trace_headers(), "Nats-Msg-Id": str(event_id)}
                        await js.publish(subject, bytes(payload), timeout=3.0, headers=sent)
                except Exception as exc:
                    await conn.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = %s",
                        (type(exc).__name__, event_id),
                    )
                    log.warning("publishing event failed: %s", type(exc).__name__)
                    self._failed = True
                    break  # keep the order: retry this one first next time
                published.append(event_id)
            if published:
                await conn.execute(
                    "UPDATE outbox SET published_at = now(), attempts = attempts + 1"
                    " WHERE id = ANY(%s) AND NOT erase_on_publish",
                    (published,),
                )
                # The notice to an erased account: no copy of its address stays here.
                await conn.execute(
                    "DELETE FROM outbox WHERE id = ANY(%s) AND erase_on_publish", (published,)
                )
        return len(published)
