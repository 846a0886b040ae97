"""Email and SMS providers against real servers: an SMTP catcher and an HTTP sink."""

import base64
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import aiohttp
import pytest

from tessera_otp_delivery.adapters.fallback import Fallback
from tessera_otp_delivery.adapters.sms_http import TwilioSms, WebhookSms
from tessera_otp_delivery.adapters.smtp import SmtpSender
from tessera_otp_delivery.bootstrap import CATALOGS
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.ports import Email, SendError, Sms, SmsSender
from tessera_otp_delivery.service import Deliverer
from tessera_shared.contracts.events import DeliveryKind, DeliveryRequested
from tessera_shared.devservers.ports import free_port
from tessera_shared.i18n import SHARED_CATALOGS, Translator
from tessera_shared.testing.http_sink import HttpSink
from tessera_shared.testing.smtp import SmtpCatcher

CODE = "583104"


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    session = aiohttp.ClientSession()
    try:
        yield session
    finally:
        await session.close()


def smtp_settings(port: int, **overrides: object) -> OtpDeliverySettings:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "Tessera <no-reply@tessera.test>",
        "smtp_timeout_s": 5.0,
        **overrides,
    }
    return OtpDeliverySettings(**values)  # type: ignore[arg-type]


def sms_settings(sink: HttpSink, **overrides: object) -> OtpDeliverySettings:
    values: dict[str, object] = {
        "sms_providers": "webhook,twilio",
        "sms_webhook_url": f"{sink.url}/sms",
        "sms_sender": "Tessera",
        "twilio_base_url": sink.url,
        "twilio_account_sid": "AC0123456789",
        "twilio_auth_token": "twilio-secret",
        "sms_timeout_s": 5.0,
        **overrides,
    }
    return OtpDeliverySettings(**values)  # type: ignore[arg-type]


def unreachable_url() -> str:
    return f"http://127.0.0.1:{free_port()}/sms"


def email_to(address: str, *, locale: str = "en") -> Email:
    return Email(
        id="3f0c8a6e-6d2e-4a53-9d3e-1d2f3a4b5c6d",
        to=address,
        subject=f"Your Tessera sign-in code {CODE}",
        text=f"Use this code to sign in:\n\n{CODE}\n",
        html=f"<p>Use this code to sign in:</p><p>{CODE}</p>",
        locale=locale,
    )


def event(
    *,
    test_id: str,
    channel: str,
    recipient: str,
    locale: str,
    kind: DeliveryKind = DeliveryKind.REGISTRATION_CODE,
) -> DeliveryRequested:
    return DeliveryRequested(
        id=f"evt-{test_id}",
        occurred_at=datetime.now(UTC),
        kind=kind,
        channel=channel,  # type: ignore[arg-type]
        recipient=recipient,
        locale=locale,
        user_id=f"user-{test_id}",
        code=CODE,
        expires_in_s=600,
    )


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


# --- SMTP ---------------------------------------------------------------------------------------


async def test_smtp_delivers_a_multipart_message_with_text_and_html(
    smtp_catcher: SmtpCatcher, test_id: str
) -> None:
    address = f"ada-{test_id}@example.com"
    await SmtpSender(smtp_settings(smtp_catcher.port)).send(email_to(address, locale="fr"))

    [message] = smtp_catcher.wait_for(to=address, timeout=5)
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert CODE in text.get_content()
    assert f"<p>{CODE}</p>" in html.get_content()
    assert message["Subject"] == f"Your Tessera sign-in code {CODE}"
    assert message["From"] == "Tessera <no-reply@tessera.test>"
    assert message["To"] == address
    assert message["Content-Language"] == "fr"
    assert message["Message-ID"].endswith("@tessera.test>")


async def test_smtp_carries_non_ascii_subjects_and_bodies_intact(
    smtp_catcher: SmtpCatcher, test_id: str
) -> None:
    address = f"joerg-{test_id}@example.com"
    email = Email(
        id="3f0c8a6e-6d2e-4a53-9d3e-1d2f3a4b5c6d",
        to=address,
        subject="Ihr Tessera-Bestätigungscode",
        text="Mit diesem Code schließen Sie Ihre Registrierung ab: 123456\n",
        html="<p>Mit diesem Code schließen Sie Ihre Registrierung ab:</p>",
        locale="de",
    )
    await SmtpSender(smtp_settings(smtp_catcher.port)).send(email)

    [message] = smtp_catcher.wait_for(to=address, timeout=5)
    assert message["Subject"] == "Ihr Tessera-Bestätigungscode"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    assert "schließen" in text.get_content()


async def test_smtp_to_a_port_where_nothing_listens_fails_quickly_without_the_message() -> None:
    sender = SmtpSender(smtp_settings(free_port(), smtp_timeout_s=1.0))
    started = time.monotonic()
    with pytest.raises(SendError) as caught:
        await sender.send(email_to("nobody@example.com"))
    assert time.monotonic() - started < 5
    assert str(caught.value).startswith("smtp:")
    assert CODE not in str(caught.value)
    assert "nobody@example.com" not in str(caught.value)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung mail server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


async def test_smtp_gives_up_on_a_server_that_never_greets_after_its_timeout(
    silent_server: int,
) -> None:
    sender = SmtpSender(smtp_settings(silent_server, smtp_timeout_s=1.0))
    started = time.monotonic()
    with pytest.raises(SendError, match=r"^smtp:"):
        await sender.send(email_to("nobody@example.com"))
    assert time.monotonic() - started < 5


# --- webhook SMS --------------------------------------------------------------------------------


async def test_the_webhook_posts_the_json_body_of_the_template(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    settings = sms_settings(
        http_sink,
        sms_webhook_body='{"msisdn": "$to", "message": "$text", "originator": "$sender"}',
    )
    await WebhookSms(settings, client).send(Sms(to="+41790000001", text=f"{CODE} is your code"))

    [request] = http_sink.wait_for(1, within=5)
    assert request.method == "POST"
    assert request.path == "/sms"
    assert lowered(request.headers)["content-type"] == "application/json"
    assert json.loads(request.body) == {
        "msisdn": "+41790000001",
        "message": f"{CODE} is your code",
        "originator": "Tessera",
    }


async def test_the_webhook_json_escapes_quotes_newlines_and_accents(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    tricky = 'Il a dit "stop"\nligne 2 \\ fin: réinitialisation, $sender'
    await WebhookSms(sms_settings(http_sink), client).send(Sms(to="+33600000001", text=tricky))

    [request] = http_sink.wait_for(1, within=5)
    body = json.loads(request.body)  # fails when the values broke out of their strings
    assert body == {"to": "+33600000001", "text": tricky, "from": "Tessera"}


async def test_the_webhook_sends_the_configured_auth_header(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    settings = sms_settings(http_sink, sms_webhook_auth_header="Authorization: Bearer abc:def")
    await WebhookSms(settings, client).send(Sms(to="+41790000002", text="hello"))

    [request] = http_sink.wait_for(1, within=5)
    assert lowered(request.headers)["authorization"] == "Bearer abc:def"


async def test_the_webhook_sends_no_auth_header_when_none_is_configured(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    await WebhookSms(sms_settings(http_sink), client).send(Sms(to="+41790000003", text="hello"))

    [request] = http_sink.wait_for(1, within=5)
    assert "authorization" not in lowered(request.headers)


# --- Twilio SMS ---------------------------------------------------------------------------------


async def test_twilio_posts_form_fields_to_the_messages_api_with_basic_auth(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    settings = sms_settings(http_sink, twilio_base_url=f"{http_sink.url}/")
    await TwilioSms(settings, client).send(Sms(to="+41790000004", text=f"{CODE} & more"))

    [request] = http_sink.wait_for(1, within=5)
    assert request.method == "POST"
    assert request.path == "/2010-04-01/Accounts/AC0123456789/Messages.json"
    assert request.form == {"To": "+41790000004", "From": "Tessera", "Body": f"{CODE} & more"}
    expected = base64.b64encode(b"AC0123456789:twilio-secret").decode()
    assert lowered(request.headers)["authorization"] == f"Basic {expected}"


# --- failures and fallback ----------------------------------------------------------------------


@pytest.mark.parametrize("provider", [WebhookSms, TwilioSms])
async def test_a_provider_answering_500_raises_send_error(
    http_sink: HttpSink, client: aiohttp.ClientSession, provider: type[WebhookSms | TwilioSms]
) -> None:
    http_sink.status = 500
    with pytest.raises(SendError, match="HTTP 500") as caught:
        await provider(sms_settings(http_sink), client).send(Sms(to="+41790000005", text=CODE))
    assert CODE not in str(caught.value)


async def test_an_unreachable_webhook_raises_send_error(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    settings = sms_settings(http_sink, sms_webhook_url=unreachable_url())
    with pytest.raises(SendError, match=r"^webhook:"):
        await WebhookSms(settings, client).send(Sms(to="+41790000006", text=CODE))


async def test_a_provider_slower_than_its_timeout_raises_send_error(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    http_sink.delay_s = 1.5
    settings = sms_settings(http_sink, sms_timeout_s=0.3)
    started = time.monotonic()
    with pytest.raises(SendError, match=r"^webhook:"):
        await WebhookSms(settings, client).send(Sms(to="+41790000010", text=CODE))
    assert time.monotonic() - started < 1.2


def webhook_then_twilio(
    settings: OtpDeliverySettings, client: aiohttp.ClientSession
) -> Fallback[Sms]:
    providers: list[SmsSender] = [WebhookSms(settings, client), TwilioSms(settings, client)]
    return Fallback(providers)


async def test_fallback_tries_the_next_provider_when_the_first_fails(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    settings = sms_settings(http_sink, sms_webhook_url=unreachable_url())
    fallback = webhook_then_twilio(settings, client)
    await fallback.send(Sms(to="+41790000007", text=f"{CODE} via fallback"))

    [request] = http_sink.wait_for(1, within=5)
    assert request.path == "/2010-04-01/Accounts/AC0123456789/Messages.json"
    assert request.form["Body"] == f"{CODE} via fallback"


async def test_fallback_stops_at_the_first_provider_that_succeeds(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    settings = sms_settings(http_sink)
    fallback = webhook_then_twilio(settings, client)
    await fallback.send(Sms(to="+41790000008", text="once"))

    assert [request.path for request in http_sink.wait_for(1, within=5)] == ["/sms"]


async def test_fallback_raises_send_error_naming_every_failed_provider(
    http_sink: HttpSink, client: aiohttp.ClientSession
) -> None:
    http_sink.status = 500
    settings = sms_settings(http_sink)
    fallback = webhook_then_twilio(settings, client)
    with pytest.raises(SendError) as caught:
        await fallback.send(Sms(to="+41790000009", text=CODE))
    assert "webhook: HTTP 500" in str(caught.value)
    assert "twilio: HTTP 500" in str(caught.value)
    assert CODE not in str(caught.value)


async def test_email_fallback_reaches_the_second_smtp_server(
    smtp_catcher: SmtpCatcher, test_id: str
) -> None:
    dead = SmtpSender(smtp_settings(free_port(), smtp_timeout_s=1.0))
    live = SmtpSender(smtp_settings(smtp_catcher.port))
    address = f"fallback-{test_id}@example.com"
    await Fallback([dead, live]).send(email_to(address))

    assert len(smtp_catcher.wait_for(to=address, timeout=5)) == 1


# --- the Deliverer ------------------------------------------------------------------------------


def deliverer(smtp_port: int, sink: HttpSink, client: aiohttp.ClientSession) -> Deliverer:
    return Deliverer(
        SmtpSender(smtp_settings(smtp_port)),
        WebhookSms(sms_settings(sink), client),
        Translator([SHARED_CATALOGS, CATALOGS]),
        "Tessera",
    )


async def test_the_deliverer_sends_a_german_registration_code_email(
    smtp_catcher: SmtpCatcher, http_sink: HttpSink, client: aiohttp.ClientSession, test_id: str
) -> None:
    address = f"greta-{test_id}@example.de"
    request = event(test_id=test_id, channel="email", recipient=address, locale="de")
    await deliverer(smtp_catcher.port, http_sink, client).deliver(request)

    [message] = smtp_catcher.wait_for(to=address, timeout=5)
    assert message["Subject"] == "Ihr Tessera-Bestätigungscode"
    assert message["Content-Language"] == "de"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    assert "Mit diesem Code schließen Sie Ihre Registrierung ab:" in text.get_content()
    assert CODE in text.get_content()
    assert CODE in html.get_content()
    assert '<html lang="de">' in html.get_content()
    assert http_sink.received == []


async def test_the_deliverer_sends_a_french_sms_for_a_phone_event(
    smtp_catcher: SmtpCatcher, http_sink: HttpSink, client: aiohttp.ClientSession, test_id: str
) -> None:
    request = event(test_id=test_id, channel="sms", recipient="+33612345678", locale="fr")
    await deliverer(smtp_catcher.port, http_sink, client).deliver(request)

    [received] = http_sink.wait_for(1, within=5)
    assert json.loads(received.body) == {
        "to": "+33612345678",
        "text": f"{CODE} est votre code de vérification Tessera. Valable 10 min.",
        "from": "Tessera",
    }
    assert smtp_catcher.messages == []


@pytest.mark.parametrize(
    ("kind", "purpose"),
    [
        (DeliveryKind.REGISTRATION_CODE, "registration"),
        (DeliveryKind.PASSWORD_RESET_CODE, "password_reset"),
        (DeliveryKind.ACCOUNT_LOCKED_NOTICE, "account_locked_notice"),
    ],
)
async def test_the_deliverer_names_what_an_email_is_for_in_a_header(
    smtp_catcher: SmtpCatcher,
    http_sink: HttpSink,
    client: aiohttp.ClientSession,
    test_id: str,
    kind: DeliveryKind,
    purpose: str,
) -> None:
    address = f"pia-{test_id}@example.com"
    request = event(test_id=test_id, channel="email", recipient=address, locale="en", kind=kind)
    await deliverer(smtp_catcher.port, http_sink, client).deliver(request)

    [message] = smtp_catcher.wait_for(to=address, timeout=5)
    assert message["X-Tessera-Purpose"] == purpose


async def test_the_deliverer_fills_the_purpose_placeholder_of_the_webhook_body(
    smtp_catcher: SmtpCatcher, http_sink: HttpSink, client: aiohttp.ClientSession, test_id: str
) -> None:
    settings = sms_settings(
        http_sink, sms_webhook_body='{"to": "$to", "text": "$text", "purpose": "$purpose"}'
    )
    sender = Deliverer(
        SmtpSender(smtp_settings(smtp_catcher.port)),
        WebhookSms(settings, client),
        Translator([SHARED_CATALOGS, CATALOGS]),
        "Tessera",
    )
    kind = DeliveryKind.LOGIN_CODE
    await sender.deliver(
        event(test_id=test_id, channel="sms", recipient="+41790000011", locale="en", kind=kind)
    )

    [received] = http_sink.wait_for(1, within=5)
    assert json.loads(received.body) == {
        "to": "+41790000011",
        "text": f"{CODE} is your Tessera sign-in code. Valid for 10 min.",
        "purpose": "login",
    }


async def test_the_deliverer_writes_english_for_a_language_it_does_not_speak(
    smtp_catcher: SmtpCatcher, http_sink: HttpSink, client: aiohttp.ClientSession, test_id: str
) -> None:
    address = f"juan-{test_id}@example.es"
    request = event(test_id=test_id, channel="email", recipient=address, locale="es")
    await deliverer(smtp_catcher.port, http_sink, client).deliver(request)

    [message] = smtp_catcher.wait_for(to=address, timeout=5)
    assert message["Subject"] == "Your Tessera verification code"
    assert message["Content-Language"] == "en"


async def test_the_deliverer_reports_a_failed_sms_as_send_error(
    smtp_catcher: SmtpCatcher, http_sink: HttpSink, client: aiohttp.ClientSession, test_id: str
) -> None:
    http_sink.status = 500
    request = event(test_id=test_id, channel="sms", recipient="+33612345679", locale="fr")
    with pytest.raises(SendError) as caught:
        await deliverer(smtp_catcher.port, http_sink, client).deliver(request)
    assert CODE not in str(caught.value)


async def test_the_message_id_comes_from_the_event_id_so_a_duplicate_is_the_same_message(
    smtp_catcher,
):
    sender = SmtpSender(smtp_settings(smtp_catcher.port))
    await sender.send(email_to("same@example.com"))
    await sender.send(email_to("same@example.com"))
    first, second = smtp_catcher.wait_for(to="same@example.com", count=2)
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].startswith("<3f0c8a6e-6d2e-4a53-9d3e-1d2f3a4b5c6d@")
