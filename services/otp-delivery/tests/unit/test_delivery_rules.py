"""How the worker settles each event (`service.DeliveryHandler`), on in-memory ports: sent
once, duplicates skipped, failures retried with backoff, then dead-lettered with a reason."""

import uuid
from datetime import UTC, datetime

from tessera_otp_delivery.ports import Claim, Email, Sms
from tessera_shared.contracts.events import EVENT_ENCODER, DeliveryKind, DeliveryRequested

from .fakes import POLICY, FakeReceived, Worker


def event(channel: str = "email", **changes: object) -> DeliveryRequested:
    fields: dict[str, object] = {
        "id": str(uuid.uuid4()),
        "occurred_at": datetime.now(UTC),
        "kind": DeliveryKind.LOGIN_CODE,
        "channel": channel,
        "recipient": "jane@example.com" if channel == "email" else "+41790000000",
        "locale": "de",
        "user_id": str(uuid.uuid4()),
        "code": "483920",
        "expires_in_s": 600,
        **changes,
    }
    return DeliveryRequested(**fields)


def received(request: DeliveryRequested, attempt: int = 1) -> FakeReceived:
    return FakeReceived(EVENT_ENCODER.encode(request), attempt)


async def test_an_email_is_sent_in_the_persons_language_marked_sent_and_acked():
    worker, request = Worker(), event()
    message = received(request)

    await worker.handler.handle(message)

    [email] = worker.email.sent
    assert isinstance(email, Email)
    assert (email.id, email.to, email.locale) == (request.id, request.recipient, "de")
    assert "483920" in email.text
    assert message.settled == [("ack", None)]
    assert worker.ledger.states == {request.id: Claim.SENT}
    assert worker.count("sent", channel="email") == 1


async def test_a_sent_mark_that_fails_for_a_moment_is_retried_so_the_code_is_not_sent_again():
    # A stream leader election makes every request fail for seconds: were the handler to give
    # up, the event would come back, and once its claim is stale be sent a second time.
    worker, request = Worker(), event()
    worker.ledger.mark_failures = 3
    message = received(request)

    await worker.handler.handle(message)

    assert len(worker.email.sent) == 1
    assert worker.ledger.states == {request.id: Claim.SENT}
    assert message.settled == [("ack", None)]
    await worker.handler.handle(received(request, attempt=2))  # a redelivery (ack lost)
    assert len(worker.email.sent) == 1


async def test_an_sms_goes_to_the_sms_sender():
    worker = Worker()

    await worker.handler.handle(received(event("sms")))

    [sms] = worker.sms.sent
    assert isinstance(sms, Sms)
    assert "483920" in sms.text
    assert not worker.email.sent


async def test_an_event_already_sent_is_acked_without_sending_it_again():
    worker, request = Worker(), event()
    await worker.handler.handle(received(request))
    again = received(request, attempt=2)

    await worker.handler.handle(again)

    assert len(worker.email.sent) == 1
    assert again.settled == [("ack", None)]
    assert worker.count("duplicates") == 1


async def test_an_event_another_copy_is_sending_is_looked_at_again_shortly():
    worker, request = Worker(), event()
    worker.ledger.states[request.id] = Claim.MINE
    message = received(request)

    await worker.handler.handle(message)

    assert not worker.email.sent
    assert message.settled == [("retry", POLICY.base_s)]


async def test_a_failed_send_releases_the_claim_and_retries_with_backoff():
    worker, request = Worker(), event()
    worker.email.down = True
    message = received(request, attempt=2)

    await worker.handler.handle(message)

    assert message.settled == [("retry", POLICY.delay(2))]
    assert request.id not in worker.ledger.states
    assert worker.count("failed", channel="email") == 1
    assert worker.count("retried", channel="email") == 1


async def test_the_last_failed_attempt_dead_letters_the_event_with_the_reason():
    worker, request = Worker(), event()
    worker.email.down = True
    message = received(request, attempt=POLICY.max_attempts)

    await worker.handler.handle(message)

    [(how, reason)] = message.settled
    assert how == "dead"
    assert reason == f"gave up after {POLICY.max_attempts} attempts: email: down"
    assert worker.count("dead_lettered", reason="exhausted") == 1
    assert worker.count("retried", channel="email") == 0


async def test_malformed_and_future_events_are_dead_lettered_at_once():
    worker = Worker()
    malformed = FakeReceived(b"not json")
    future = received(event(v=99))

    await worker.handler.handle(malformed)
    await worker.handler.handle(future)

    assert malformed.settled[0][0] == "dead"
    assert str(malformed.settled[0][1]).startswith("malformed event")
    assert future.settled == [("dead", "unsupported event version 99")]
    assert worker.count("dead_lettered", reason="malformed") == 1
    assert worker.count("dead_lettered", reason="version") == 1
    assert not worker.email.sent
