"""In-memory stand-ins for otp-delivery's ports (`tessera_otp_delivery.ports`): the senders,
the sent-events ledger and the received event, so the delivery rules run without NATS or SMTP.
The JetStream consumer, the key-value ledger and the providers stay in the integration tests."""

from dataclasses import dataclass, field

from tessera_otp_delivery.bootstrap import CATALOGS
from tessera_otp_delivery.domain.retry import RetryPolicy
from tessera_otp_delivery.metrics import DeliveryMetrics
from tessera_otp_delivery.ports import Claim, Email, SendError, Sms
from tessera_otp_delivery.service import Deliverer, DeliveryHandler
from tessera_shared.i18n import SHARED_CATALOGS, Translator

POLICY = RetryPolicy(max_attempts=3, base_s=2.0, max_s=300.0)
TRANSLATOR = Translator([SHARED_CATALOGS, CATALOGS])


@dataclass
class FakeSender:
    name: str = "fake"
    down: bool = False
    sent: list[Email | Sms] = field(default_factory=list)

    async def send(self, message: Email | Sms) -> None:
        if self.down:
            raise SendError(f"{self.name}: down")
        self.sent.append(message)


@dataclass
class FakeLedger:
    states: dict[str, Claim] = field(default_factory=dict)
    """MINE while an event is being sent (by us or another copy), SENT once delivered."""

    async def claim(self, event_id: str, stale_after_s: float) -> Claim:
        state = self.states.get(event_id)
        if state is None:
            self.states[event_id] = Claim.MINE
            return Claim.MINE
        return Claim.SENT if state is Claim.SENT else Claim.BUSY

    mark_failures: int = 0
    """The next this many `mark_sent` calls fail (NATS away, or the bucket electing a leader)."""

    async def mark_sent(self, event_id: str) -> None:
        if self.mark_failures > 0:
            self.mark_failures -= 1
            raise ConnectionError("NATS is not connected")
        self.states[event_id] = Claim.SENT

    async def release(self, event_id: str) -> None:
        self.states.pop(event_id, None)


@dataclass
class FakeReceived:
    data: bytes
    attempt: int = 1
    headers: dict[str, str] = field(default_factory=dict)
    settled: list[tuple[str, object]] = field(default_factory=list)
    """How it was settled: ("ack", None), ("retry", delay_s) or ("dead", reason)."""

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def retry(self, delay_s: float) -> None:
        self.settled.append(("retry", delay_s))

    async def dead(self, reason: str) -> None:
        self.settled.append(("dead", reason))


class Worker:
    """The delivery service wired to the fakes, as `bootstrap.lifespan` wires the adapters."""

    def __init__(self) -> None:
        self.email = FakeSender("email")
        self.sms = FakeSender("sms")
        self.ledger = FakeLedger()
        self.metrics = DeliveryMetrics()
        self.handler = DeliveryHandler(
            deliverer=Deliverer(self.email, self.sms, TRANSLATOR, "Tessera"),
            ledger=self.ledger,
            metrics=self.metrics,
            policy=POLICY,
            stale_after_s=30.0,
        )

    def count(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(f"tessera_otp_{name}_total", labels) or 0.0
