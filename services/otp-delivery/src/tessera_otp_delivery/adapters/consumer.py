"""The JetStream side of the worker: fetch from the durable pull consumer, hand each event to
the service with bounded concurrency, and settle it as the service says (ack, NAK with a
delay, or publish to the dead-letter subject and terminate).

On shutdown no new events are fetched; in-flight ones get `grace_s` to finish, the rest are
NAKed so another worker takes them at once.
"""

import asyncio
import contextlib
import logging
from typing import Protocol

from nats.aio.msg import Msg
from nats.js.client import JetStreamContext

from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.ports import Received
from tessera_shared.nats import NatsConnection

log = logging.getLogger("tessera.delivery")
DEAD_REASON_HEADER = "Tessera-Dead-Reason"


class Handler(Protocol):
    async def handle(self, received: Received) -> None: ...


class JetStreamMessage:
    """A fetched message as the service's `Received`."""

    def __init__(self, message: Msg, nats: NatsConnection, dead_letters: str) -> None:
        self._message = message
        self._nats = nats
        self._dead_letters = dead_letters

    @property
    def data(self) -> bytes:
        return self._message.data

    @property
    def attempt(self) -> int:
        return self._message.metadata.num_delivered

    @property
    def headers(self) -> dict[str, str]:
        return dict(self._message.headers or {})

    async def ack(self) -> None:
        await self._message.ack()

    async def retry(self, delay_s: float) -> None:
        await self._message.nak(delay=delay_s)

    async def dead(self, reason: str) -> None:
        """Publish the original payload to the dead-letter subject, then stop redelivery."""
        message, meta = self._message, self._message.metadata
        await self._nats.js.publish(
            self._dead_letters,
            message.data,
            headers={
                DEAD_REASON_HEADER: reason,
                "Tessera-Original-Subject": message.subject,
                "Nats-Msg-Id": f"dead-{meta.stream}-{meta.sequence.stream}",
            },
        )
        await message.term()


class Consumer:
    def __init__(
        self,
        nats: NatsConnection,
        settings: OtpDeliverySettings,
        handler: Handler,
        *,
        grace_s: float = 20.0,
    ) -> None:
        self._nats = nats
        self._settings = settings
        self._handler = handler
        self._grace_s = grace_s
        self._stopping = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="otp-worker")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
        if self._in_flight:
            _, late = await asyncio.wait(self._in_flight, timeout=self._grace_s)
            for task in late:
                task.cancel()  # the handler NAKs on cancellation
            await asyncio.gather(*late, return_exceptions=True)

    async def _run(self) -> None:
        stream = self._settings.stream.name
        while not self._stopping.is_set():
            try:
                subscription = await self._nats.js.pull_subscribe_bind(
                    durable=self._settings.consumer_name, stream=stream
                )
                try:
                    await self._consume(subscription)
                finally:
                    with contextlib.suppress(Exception):
                        await subscription.unsubscribe()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer paused (%s); retrying", type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 1.0)

    async def _consume(self, subscription: JetStreamContext.PullSubscription) -> None:
        limit = self._settings.concurrency
        while not self._stopping.is_set():
            if len(self._in_flight) >= limit:
                await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
                continue
            try:
                messages = await subscription.fetch(limit - len(self._in_flight), timeout=1.0)
            except TimeoutError:
                continue
            for message in messages:
                task = asyncio.create_task(self._handle(message))
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)

    async def _handle(self, message: Msg) -> None:
        received = JetStreamMessage(message, self._nats, self._settings.stream.dead_letters)
        try:
            await self._handler.handle(received)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await message.nak()
            raise
        except Exception as exc:  # NATS gone mid-way: a node lost, a leader being elected
            log.warning("handling an event failed: %s", type(exc).__name__)
            # Backed off as a failed send is: every redelivery counts toward max_deliver, and at
            # a short fixed delay a leader election of some seconds used them all up, after
            # which JetStream dropped the event without a word (seen on a 3-node cluster). If
            # the NAK itself is lost, the event comes back after ack_wait.
            with contextlib.suppress(Exception):
                await message.nak(delay=self._retry_delay(message))

    def _retry_delay(self, message: Msg) -> float:
        attempt = message.metadata.num_delivered or 1
        settings = self._settings
        return float(min(settings.retry_base_s * 2 ** (attempt - 1), settings.retry_max_s))
