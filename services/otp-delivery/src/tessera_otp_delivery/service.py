"""The use case: one delivery request from the queue becomes an email or an SMS in the person's
language, sent once.

Per event: already sent (ledger) → ack; being sent by another copy → look again shortly;
malformed or unknown version → dead letter at once; delivered → mark sent (retried through a
NATS failover), ack; failed → release the claim and retry with an exponential delay, or dead
letter after the last attempt.
Nothing is acked before it was sent.
"""

import asyncio
import logging
import time
from dataclasses import dataclass

import msgspec
from opentelemetry import trace
from opentelemetry.propagate import extract

from tessera_otp_delivery.domain.messages import render
from tessera_otp_delivery.domain.retry import Outcome, RetryPolicy
from tessera_otp_delivery.metrics import DeliveryMetrics
from tessera_otp_delivery.ports import (
    Claim,
    Email,
    EmailSender,
    Received,
    SendError,
    SentLedger,
    Sms,
    SmsSender,
)
from tessera_shared.contracts.events import EVENT_DECODER, DeliveryRequested
from tessera_shared.i18n import SUPPORTED_LOCALES, Translator

log = logging.getLogger("tessera.delivery")
tracer = trace.get_tracer("tessera.otp_delivery")
SUPPORTED_VERSIONS = {1}


@dataclass(frozen=True, slots=True)
class Deliverer:
    """Renders one delivery request and sends it on its channel."""

    email: EmailSender
    sms: SmsSender
    translate: Translator
    product: str

    async def deliver(self, event: DeliveryRequested) -> None:
        """Send it; raises SendError when every provider of the channel failed."""
        locale = event.locale if event.locale in SUPPORTED_LOCALES else "en"
        message = render(
            event.kind,
            locale,
            self.translate,
            product=self.product,
            code=event.code,
            expires_in_s=event.expires_in_s,
        )
        purpose = event.kind.value.removesuffix("_code")
        if event.channel == "email":
            await self.email.send(
                Email(
                    id=event.id,
                    to=event.recipient,
                    subject=message.subject,
                    text=message.text,
                    html=message.html,
                    locale=locale,
                    purpose=purpose,
                )
            )
        else:
            await self.sms.send(Sms(to=event.recipient, text=message.sms, purpose=purpose))


@dataclass(frozen=True, kw_only=True, slots=True)
class DeliveryHandler:
    """Settles each received event exactly once: ack, retry later, or dead letter."""

    deliverer: Deliverer
    ledger: SentLedger
    metrics: DeliveryMetrics
    policy: RetryPolicy
    stale_after_s: float
    """A claim older than this belongs to a worker that died mid-send (`SentLedger`)."""

    async def handle(self, received: Received) -> None:
        try:
            event = EVENT_DECODER.decode(received.data)
        except msgspec.MsgspecError as exc:
            await self._dead(received, f"malformed event: {str(exc)[:200]}", "malformed")
            return
        if event.v not in SUPPORTED_VERSIONS:
            await self._dead(received, f"unsupported event version {event.v}", "version")
            return
        with tracer.start_as_current_span(
            "otp.deliver",
            context=extract(received.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={"tessera.kind": event.kind.value, "tessera.channel": event.channel},
        ):
            await self._deliver(received, event)

    async def _deliver(self, received: Received, event: DeliveryRequested) -> None:
        claimed_at = time.monotonic()
        claim = await self.ledger.claim(event.id, stale_after_s=self.stale_after_s)
        if claim is Claim.SENT:
            self.metrics.duplicates.inc()
            await received.ack()
            return
        if claim is Claim.BUSY:  # another copy is being sent right now; look again shortly
            await received.retry(self.policy.base_s)
            return
        attempt = received.attempt
        try:
            await self.deliverer.deliver(event)
        except SendError as exc:
            await self.ledger.release(event.id)
            self.metrics.failed.labels(event.channel).inc()
            if self.policy.after_failure(attempt) is Outcome.DEAD:
                reason = f"gave up after {attempt} attempts: {exc}"
                await self._dead(received, reason, "exhausted")
            else:
                self.metrics.retried.labels(event.channel).inc()
                await received.retry(self.policy.delay(attempt))
            return
        await self._mark_sent(event.id, claimed_at)
        await received.ack()
        self.metrics.sent.labels(event.channel).inc()
        log.info(
            "delivered %s by %s",
            event.kind.value,
            event.channel,
            extra={"event_id": event.id, "attempt": attempt},
        )

    async def _mark_sent(self, event_id: str, claimed_at: float) -> None:
        """Record a sent message, retrying while our claim holds: a NATS node going away or a
        JetStream leader election fails every request for seconds, and a message whose mark
        is lost comes back and, once its claim is stale, goes out a second time."""
        deadline = claimed_at + self.stale_after_s * 0.9
        delay = 0.1
        while True:
            try:
                await self.ledger.mark_sent(event_id)
                return
            except Exception as exc:
                if time.monotonic() + delay > deadline:
                    raise
                log.warning("marking an event sent failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _dead(self, received: Received, reason: str, label: str) -> None:
        await received.dead(reason)
        self.metrics.dead.labels(label).inc()
        log.warning("event dead-lettered: %s", reason)
