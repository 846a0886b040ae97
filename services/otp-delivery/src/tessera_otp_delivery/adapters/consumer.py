"""The consumer loop: fetch from the durable pull consumer, deliver with bounded concurrency.

Per event: already sent (ledger) → ack; being sent by another copy → look again shortly;
malformed or unknown version → dead letter at once; delivered → mark sent, ack; failed →
release the claim and NAK with an exponential delay, or dead letter after the last attempt.
On shutdown no new events are fetched; in-flight ones get `grace_s` to finish, the rest are
NAKed so another worker takes them at once. Nothing is acked before it was sent.
"""

import asyncio
import contextlib
import logging

import msgspec
from nats.aio.msg import Msg
from nats.js.client import JetStreamContext
from opentelemetry import trace
from opentelemetry.propagate import extract

from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.domain.retry import Outcome, RetryPolicy
from tessera_otp_delivery.metrics import DeliveryMetrics
from tessera_otp_delivery.ports import Claim, SendError, SentLedger
from tessera_otp_delivery.service import Deliverer
from tessera_shared.contracts.events import EVENT_DECODER, DeliveryRequested
from tessera_shared.nats import NatsConnection

log = logging.getLogger("tessera.delivery")
tracer = trace.get_tracer("tessera.otp_delivery")
SUPPORTED_VERSIONS = {1}
DEAD_REASON_HEADER = "Tessera-Dead-Reason"


class Worker:
    def __init__(
        self,
        nats: NatsConnection,
        settings: OtpDeliverySettings,
        deliverer: Deliverer,
        ledger: SentLedger,
        metrics: DeliveryMetrics,
        *,
        grace_s: float = 20.0,
    ) -> None:
        self._nats = nats
        self._settings = settings
        self._deliverer = deliverer
        self._ledger = ledger
        self._metrics = metrics
        self._policy = RetryPolicy(
            max_attempts=settings.max_deliver,
            base_s=settings.retry_base_s,
            max_s=settings.retry_max_s,
        )
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
        try:
            await self._process(message)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await message.nak()
            raise
        except Exception as exc:  # NATS gone mid-way: the event comes back after ack_wait
            log.warning("handling an event failed: %s", type(exc).__name__)
            with contextlib.suppress(Exception):
                await message.nak(delay=self._policy.base_s)

    async def _process(self, message: Msg) -> None:
        try:
            event = EVENT_DECODER.decode(message.data)
        except msgspec.MsgspecError as exc:
            await self._dead(message, f"malformed event: {str(exc)[:200]}", "malformed")
            return
        if event.v not in SUPPORTED_VERSIONS:
            await self._dead(message, f"unsupported event version {event.v}", "version")
            return
        context = extract(dict(message.headers or {}))
        with tracer.start_as_current_span(
            "otp.deliver",
            context=context,
            kind=trace.SpanKind.CONSUMER,
            attributes={"tessera.kind": event.kind.value, "tessera.channel": event.channel},
        ):
            await self._deliver(message, event)

    async def _deliver(self, message: Msg, event: DeliveryRequested) -> None:
        claim = await self._ledger.claim(event.id, stale_after_s=self._settings.ack_wait_s)
        if claim is Claim.SENT:
            self._metrics.duplicates.inc()
            await message.ack()
            return
        if claim is Claim.BUSY:  # another copy is being sent right now; look again shortly
            await message.nak(delay=self._policy.base_s)
            return
        attempt = message.metadata.num_delivered
        try:
            await self._deliverer.deliver(event)
        except SendError as exc:
            await self._ledger.release(event.id)
            self._metrics.failed.labels(event.channel).inc()
            if self._policy.after_failure(attempt) is Outcome.DEAD:
                await self._dead(message, f"gave up after {attempt} attempts: {exc}", "exhausted")
            else:
                self._metrics.retried.labels(event.channel).inc()
                await message.nak(delay=self._policy.delay(attempt))
            return
        await self._ledger.mark_sent(event.id)
        await message.ack()
        self._metrics.sent.labels(event.channel).inc()
        log.info(
            "delivered %s by %s",
            event.kind.value,
            event.channel,
            extra={"event_id": event.id, "attempt": attempt},
        )

    async def _dead(self, message: Msg, reason: str, label: str) -> None:
        """Publish the original payload to the dead-letter subject, then stop redelivery."""
        meta = message.metadata
        await self._nats.js.publish(
            self._settings.stream.dead_letters,
            message.data,
            headers={
                DEAD_REASON_HEADER: reason,
                "Tessera-Original-Subject": message.subject,
                "Nats-Msg-Id": f"dead-{meta.stream}-{meta.sequence.stream}",
            },
        )
        await message.term()
        self._metrics.dead.labels(label).inc()
        log.warning("event dead-lettered: %s", reason)
