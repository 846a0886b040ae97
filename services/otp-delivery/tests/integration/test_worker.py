"""The delivery worker against a real NATS server and a real SMTP server: once, late, or dead.

Each test has its own stream, subjects, consumer state and ledger bucket (random names), and its
own SMTP server, so the only thing it shares is the NATS process.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import msgspec
import nats
from litestar.testing import AsyncTestClient
from nats.aio.msg import Msg
from nats.js.api import ConsumerInfo

from tessera_otp_delivery.app import create_app
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_shared.contracts.events import EVENT_ENCODER, DeliveryKind, DeliveryRequested
from tessera_shared.devservers import free_port
from tessera_shared.nats import parse_servers
from tessera_shared.testing.events import publish_event
from tessera_shared.testing.smtp import SmtpCatcher
from tessera_shared.testing.waiting import eventually

SENT = 'tessera_otp_sent_total{channel="email"}'
FAILED = 'tessera_otp_failed_total{channel="email"}'
DUPLICATES = "tessera_otp_duplicates_total"


def settings_for(
    nats_url: str, test_id: str, smtp_port: int, **overrides: Any
) -> OtpDeliverySettings:
    return OtpDeliverySettings(
        nats_url=nats_url,
        stream_name=f"OTP_{test_id}",
        subject_prefix=f"t{test_id}.",
        sent_bucket=f"sent_{test_id}",
        email_providers="smtp",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        smtp_timeout_s=1,
        retry_base_s=0.2,
        retry_max_s=1,
        **overrides,
    )


def login_code(recipient: str, *, locale: str = "en", code: str = "482913") -> DeliveryRequested:
    return DeliveryRequested(
        id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
        kind=DeliveryKind.LOGIN_CODE,
        channel="email",
        recipient=recipient,
        locale=locale,
        user_id=str(uuid.uuid4()),
        code=code,
        expires_in_s=600,
    )


async def publish(
    settings: OtpDeliverySettings, event: DeliveryRequested, msg_id: str | None = None
) -> None:
    await publish_raw(settings, EVENT_ENCODER.encode(event), msg_id or event.id)


async def publish_raw(settings: OtpDeliverySettings, payload: bytes, msg_id: str) -> None:
    subject = settings.stream.requested("email")
    await publish_event(settings.nats_url, subject, payload, headers={"Nats-Msg-Id": msg_id})


@asynccontextmanager
async def running(settings: OtpDeliverySettings) -> AsyncIterator[AsyncTestClient[Any]]:
    """The worker in-process, once ready: its stream, consumer and ledger bucket exist."""
    async with AsyncTestClient(create_app(settings)) as client:
        await eventually(lambda: client.get("/health/ready"), lambda r: r.status_code == 200)
        yield client


async def metric(client: AsyncTestClient[Any], sample: str) -> float:
    """The value of one sample of the worker's `/metrics`; 0 when the series has none yet."""
    for line in (await client.get("/metrics")).text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return 0.0


def mails_to(catcher: SmtpCatcher, address: str) -> list[EmailMessage]:
    """Messages whose To header is exactly `address` (`wait_for` matches a substring)."""
    return [m for m in catcher.messages if str(m.get("To", "")) == address]


def first_position(catcher: SmtpCatcher, address: str) -> int:
    """1-based position of the first mail to `address` among all the catcher received."""
    return [str(m.get("To", "")) for m in catcher.messages].index(address) + 1


async def received(catcher: SmtpCatcher) -> int:
    return len(catcher.messages)


async def mail_arrives(
    catcher: SmtpCatcher, address: str, within: float = 10.0
) -> list[EmailMessage]:
    async def probe() -> list[EmailMessage]:
        return mails_to(catcher, address)

    return await eventually(probe, bool, within=within)


async def consumer_state(settings: OtpDeliverySettings) -> ConsumerInfo:
    client = await nats.connect(servers=parse_servers(settings.nats_url), connect_timeout=2)
    try:
        info: ConsumerInfo = await client.jetstream().consumer_info(
            settings.stream_name, settings.consumer_name
        )
        return info
    finally:
        await client.close()


async def settled(settings: OtpDeliverySettings, within: float = 15.0) -> None:
    """Waits until every event was acknowledged or terminated: nothing more will be sent."""
    await eventually(
        lambda: consumer_state(settings),
        lambda info: info.num_pending == 0 and info.num_ack_pending == 0,
        within=within,
    )


async def dead_letters(settings: OtpDeliverySettings) -> list[Msg]:
    """Every message on the dead-letter subject right now, read with a fresh consumer."""
    client = await nats.connect(servers=parse_servers(settings.nats_url), connect_timeout=2)
    try:
        js = client.jetstream()
        subscription = await js.pull_subscribe(
            settings.stream.dead_letters, stream=settings.stream_name
        )
        pending = (await subscription.consumer_info()).num_pending or 0
        found: list[Msg] = []
        while len(found) < pending:
            found.extend(await subscription.fetch(pending - len(found), timeout=2))
        await subscription.unsubscribe()
        return found
    finally:
        await client.close()


async def test_an_email_is_delivered_once_in_the_language_of_the_event(
    nats_url: str, test_id: str, smtp_catcher: SmtpCatcher
) -> None:
    settings = settings_for(nats_url, test_id, smtp_catcher.port)
    address = f"anna-{test_id}@example.test"
    async with running(settings) as client:
        await publish(settings, login_code(address, locale="de", code="731904"))
        [mail] = await mail_arrives(smtp_catcher, address)
        await eventually(lambda: metric(client, SENT), lambda value: value == 1.0)
        await settled(settings)
        assert len(mails_to(smtp_catcher, address)) == 1
    assert mail["Subject"] == "Ihr Tessera-Anmeldecode"
    assert mail["Content-Language"] == "de"
    body = mail.get_body(("plain",))
    assert body is not None
    assert "731904" in body.get_content()


async def test_a_mail_sent_while_smtp_is_down_arrives_exactly_once_when_it_returns(
    nats_url: str, test_id: str
) -> None:
    catcher = SmtpCatcher(port=free_port())  # not listening yet: every attempt is refused
    settings = settings_for(nats_url, test_id, catcher.port)
    address = f"ben-{test_id}@example.test"
    try:
        async with running(settings) as client:
            await publish(settings, login_code(address))
            # The outage is really hit, and retried, before the server comes back.
            await eventually(lambda: metric(client, FAILED), lambda value: value >= 2, within=5)
            catcher.start()
            await mail_arrives(catcher, address)
            await settled(settings)
            assert await metric(client, SENT) == 1.0
        assert len(mails_to(catcher, address)) == 1
    finally:
        catcher.stop()


async def test_an_event_that_comes_back_after_it_was_sent_is_not_sent_again(
    nats_url: str, test_id: str, smtp_catcher: SmtpCatcher
) -> None:
    settings = settings_for(nats_url, test_id, smtp_catcher.port)
    address = f"clara-{test_id}@example.test"
    event = login_code(address)
    async with running(settings) as client:
        await publish(settings, event, msg_id=f"{event.id}-first")
        await mail_arrives(smtp_catcher, address)
        await eventually(lambda: metric(client, SENT), lambda value: value == 1.0)
        # A new Nats-Msg-Id gets past JetStream's duplicate window, as a relay retry might.
        await publish(settings, event, msg_id=f"{event.id}-again")
        await eventually(lambda: metric(client, DUPLICATES), lambda value: value == 1.0)
        await settled(settings)
        assert await metric(client, SENT) == 1.0
    assert len(mails_to(smtp_catcher, address)) == 1


async def test_two_copies_of_an_event_handled_at_the_same_time_send_one_mail(
    nats_url: str, test_id: str, smtp_catcher: SmtpCatcher
) -> None:
    settings = settings_for(nats_url, test_id, smtp_catcher.port)
    address = f"dora-{test_id}@example.test"
    event = login_code(address)
    async with running(settings) as client:
        # Published back to back, both copies land in one fetched batch.
        await publish(settings, event, msg_id=f"{event.id}-first")
        await publish(settings, event, msg_id=f"{event.id}-again")
        await mail_arrives(smtp_catcher, address)
        await settled(settings)  # both copies were acknowledged: their handling is over
        sent, duplicates = await metric(client, SENT), await metric(client, DUPLICATES)
    assert len(mails_to(smtp_catcher, address)) == 1
    assert (sent, duplicates) == (1.0, 1.0)


async def test_a_worker_with_nothing_left_to_do_stops_within_two_seconds(
    nats_url: str, test_id: str, smtp_catcher: SmtpCatcher
) -> None:
    settings = settings_for(nats_url, test_id, smtp_catcher.port)
    address = f"erna-{test_id}@example.test"
    async with running(settings):
        await publish(settings, login_code(address))
        await mail_arrives(smtp_catcher, address)
        await settled(settings)
        await asyncio.sleep(3)  # idle: a few fetches expire empty, as they do in production
        stopping = time.monotonic()
    took = time.monotonic() - stopping
    # At most one fetch (1 s) to wait for; an orchestrator's grace period is not to be spent.
    assert took < 2.0, f"stopping an idle worker took {took:.1f}s"


async def test_poison_messages_are_dead_lettered_at_once_and_the_worker_keeps_going(
    nats_url: str, test_id: str, smtp_catcher: SmtpCatcher
) -> None:
    settings = settings_for(nats_url, test_id, smtp_catcher.port)
    address = f"emil-{test_id}@example.test"
    future = EVENT_ENCODER.encode(msgspec.structs.replace(login_code(address), v=99))
    async with running(settings) as client:
        await publish_raw(settings, b"not json", "poison-1")
        await publish_raw(settings, future, "poison-2")
        dead = await eventually(lambda: dead_letters(settings), lambda found: len(found) == 2)
        await publish(settings, login_code(address))
        await mail_arrives(smtp_catcher, address)
        await settled(settings)
        assert await metric(client, FAILED) == 0.0  # dead at once: no delivery was attempted
        assert await metric(client, 'tessera_otp_dead_lettered_total{reason="malformed"}') == 1
        assert await metric(client, 'tessera_otp_dead_lettered_total{reason="version"}') == 1
    by_payload = {message.data: message.headers or {} for message in dead}
    assert by_payload[b"not json"]["Tessera-Dead-Reason"].startswith("malformed event")
    assert by_payload[future]["Tessera-Dead-Reason"] == "unsupported event version 99"
    for headers in by_payload.values():
        assert headers["Tessera-Original-Subject"] == settings.stream.requested("email")
    assert len(smtp_catcher.messages) == 1


async def test_an_event_that_fails_every_attempt_ends_on_the_dead_letter_subject(
    nats_url: str, test_id: str
) -> None:
    settings = settings_for(nats_url, test_id, free_port(), max_deliver=3)  # nobody listens
    event = login_code(f"fritz-{test_id}@example.test")
    async with running(settings) as client:
        await publish(settings, event)
        [dead] = await eventually(lambda: dead_letters(settings), lambda found: len(found) == 1)
        await settled(settings)
        await asyncio.sleep(1.2)  # longer than retry_max_s: a further attempt would show now
        assert await metric(client, FAILED) == 3.0
        assert await metric(client, 'tessera_otp_dead_lettered_total{reason="exhausted"}') == 1
        assert await metric(client, SENT) == 0.0
    assert dead.data == EVENT_ENCODER.encode(event)
    assert dead.headers is not None
    assert dead.headers["Tessera-Dead-Reason"].startswith("gave up after 3 attempts: smtp:")


async def test_the_worker_never_holds_more_smtp_sessions_than_its_concurrency(
    nats_url: str, test_id: str, slow_smtp: Callable[[float], Any]
) -> None:
    catcher = slow_smtp(0.3)
    settings = settings_for(nats_url, test_id, catcher.port, concurrency=2)
    addresses = [f"gina{n}-{test_id}@example.test" for n in range(6)]
    async with running(settings):
        await asyncio.gather(*(publish(settings, login_code(a)) for a in addresses))
        for address in addresses:
            await mail_arrives(catcher, address)
    assert catcher.most_open_transactions == 2
    assert sorted(len(mails_to(catcher, a)) for a in addresses) == [1] * 6


async def test_a_graceful_shutdown_mid_batch_loses_and_repeats_nothing(
    nats_url: str, test_id: str, slow_smtp: Callable[[float], Any]
) -> None:
    catcher = slow_smtp(0.3)
    # ack_wait stays at its default (30 s): anything a stopped worker held would show as late.
    settings = settings_for(nats_url, test_id, catcher.port, concurrency=2)
    addresses = [f"hugo{n}-{test_id}@example.test" for n in range(10)]
    async with running(settings):
        await asyncio.gather(*(publish(settings, login_code(a)) for a in addresses))
        await eventually(lambda: received(catcher), lambda count: count > 0)
    delivered_before_restart = len(catcher.messages)
    assert 0 < delivered_before_restart < len(addresses)
    assert (await consumer_state(settings)).num_ack_pending == 0  # nothing left in limbo
    async with running(settings):
        for address in addresses:
            await mail_arrives(catcher, address)
        await settled(settings, within=5)
    assert sorted(len(mails_to(catcher, a)) for a in addresses) == [1] * 10


async def test_a_worker_killed_mid_batch_and_restarted_delivers_every_event_exactly_once(
    nats_url: str,
    test_id: str,
    slow_smtp: Callable[[float], Any],
    worker_process: Callable[[dict[str, str]], Any],
) -> None:
    # Each mail waits 0.2 s before DATA; mails arrive in bursts of four.
    catcher = slow_smtp(0.2)
    settings = settings_for(nats_url, test_id, catcher.port, concurrency=4, ack_wait_s=2)
    env = {
        "TESSERA_OTP_NATS_URL": settings.nats_url,
        "TESSERA_OTP_STREAM_NAME": settings.stream_name,
        "TESSERA_OTP_SUBJECT_PREFIX": settings.subject_prefix,
        "TESSERA_OTP_SENT_BUCKET": settings.sent_bucket,
        "TESSERA_OTP_EMAIL_PROVIDERS": "smtp",
        "TESSERA_OTP_SMTP_HOST": "127.0.0.1",
        "TESSERA_OTP_SMTP_PORT": str(catcher.port),
        "TESSERA_OTP_SMTP_SECURITY": "none",
        "TESSERA_OTP_SMTP_TIMEOUT_S": "1",
        "TESSERA_OTP_RETRY_BASE_S": "0.2",
        "TESSERA_OTP_RETRY_MAX_S": "1",
        "TESSERA_OTP_CONCURRENCY": "4",
        "TESSERA_OTP_ACK_WAIT_S": "2",
        "TESSERA_OTP_LOG_LEVEL": "warning",
    }
    worker = worker_process(env)
    worker.start()
    await worker.wait_ready()
    addresses = [f"ida{n:02}-{test_id}@example.test" for n in range(40)]
    await asyncio.gather(*(publish(settings, login_code(a)) for a in addresses))
    await eventually(lambda: received(catcher), lambda count: count >= 5, interval=0.01)
    # Kill mid-batch, between bursts: the accepted mails have been marked as sent, the next
    # four are waiting before DATA. (A kill in the few milliseconds between a server accepting
    # a mail and the worker marking it sent would send that one twice: the at-least-once limit
    # that no SMTP client can close, documented in adapters/sent_ledger.py.)
    await asyncio.sleep(0.1)
    worker.kill()
    delivered_before_kill = len(catcher.messages)
    assert delivered_before_kill < len(addresses)
    worker.start()
    await worker.wait_ready()
    for address in addresses:
        await mail_arrives(catcher, address, within=15)
    await settled(settings)  # the killed worker's unacknowledged events were redelivered too
    counts = {a: len(mails_to(catcher, a)) for a in addresses}
    assert sorted(counts.values()) == [1] * len(addresses), (
        f"kill after mail #{delivered_before_kill}; mails per recipient (position of the first): "
        + str({a: (n, first_position(catcher, a)) for a, n in counts.items() if n != 1})
    )


async def test_the_delivery_continues_the_trace_of_the_event(
    nats_url: str, test_id: str, smtp_catcher: SmtpCatcher, captured_spans: Any
) -> None:
    settings = settings_for(nats_url, test_id, smtp_catcher.port)
    address = f"trace-{test_id}@example.test"
    trace_id = uuid.uuid4().hex
    event = login_code(address)
    async with running(settings):
        await publish_event(
            settings.nats_url,
            settings.stream.requested("email"),
            EVENT_ENCODER.encode(event),
            headers={"Nats-Msg-Id": event.id, "traceparent": f"00-{trace_id}-{'ab' * 8}-01"},
        )
        await mail_arrives(smtp_catcher, address)
        await settled(settings)
    [span] = [s for s in captured_spans.get_finished_spans() if s.name == "otp.deliver"]
    assert f"{span.context.trace_id:032x}" == trace_id
    assert f"{span.parent.span_id:016x}" == "ab" * 8
    assert span.attributes["tessera.kind"] == "login_code"
