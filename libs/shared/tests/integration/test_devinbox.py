"""Tessera Inbox as a process: real mail by SMTP, real SMS by the webhook, read back by the API,
the page and its console lines; otp-delivery's own SMTP and webhook providers deliver to it."""

import json
import os
import queue
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiohttp
import pytest

from tessera_otp_delivery.adapters.sms_http import WebhookSms
from tessera_otp_delivery.adapters.smtp import SmtpSender
from tessera_otp_delivery.bootstrap import CATALOGS
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.service import Deliverer
from tessera_shared.contracts.events import DeliveryKind, DeliveryRequested
from tessera_shared.devservers.ports import free_port
from tessera_shared.devservers.process import die_with_parent
from tessera_shared.i18n import SHARED_CATALOGS, Translator


class Inbox:
    """`python -m tessera_shared.devinbox` on free ports; its stdout lines land in a queue."""

    def __init__(self, smtp_port: int | None = None, inbox_port: int | None = None) -> None:
        self.smtp_port = smtp_port or free_port()
        self.inbox_port = inbox_port or free_port()
        self.url = f"http://127.0.0.1:{self.inbox_port}"
        env = {
            **os.environ,
            "TESSERA_DEV_SMTP_PORT": str(self.smtp_port),
            "TESSERA_DEV_INBOX_PORT": str(self.inbox_port),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tessera_shared.devinbox"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            encoding="utf-8",
            preexec_fn=die_with_parent,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, within: float = 10.0) -> str:
        return self.lines.get(timeout=within)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(10)

    def call(self, method: str, path: str, body: bytes | None = None, **headers: str) -> Any:
        """(status, headers, body) of one request."""
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def messages(self, to: str | None = None) -> list[dict[str, Any]]:
        query = "?" + urllib.parse.urlencode({"to": to}) if to is not None else ""
        status, _, body = self.call("GET", f"/api/messages{query}")
        assert status == 200
        return json.loads(body)  # type: ignore[no-any-return]

    def post_sms(self, payload: object, content_type: str = "application/json") -> Any:
        data = json.dumps(payload).encode()
        return self.call("POST", "/sms", data, **{"Content-Type": content_type})


@pytest.fixture(scope="module")
def inbox() -> Iterator[Inbox]:
    started = Inbox()
    try:
        assert started.next_line(within=20).startswith("Tessera Inbox ready: ")
        yield started
    finally:
        started.stop()


@pytest.fixture
def lines(inbox: Inbox) -> Inbox:
    """The inbox with the console lines of earlier tests skipped."""
    while not inbox.lines.empty():
        inbox.lines.get_nowait()
    return inbox


def send_mail(port: int, to: str, purpose: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "Tessera <no-reply@tessera.test>"
    message["To"] = to
    message["Subject"] = "Your Tessera verification code"
    if purpose:
        message["X-Tessera-Purpose"] = purpose
    message.set_content("Use this code to complete your registration:\n\n042917\n")
    message.add_alternative(
        '<p>Use this code:</p><p>042917</p><script>alert("x")</script>', subtype="html"
    )
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.send_message(message)


def test_the_process_says_it_is_ready_and_answers_health(inbox: Inbox) -> None:
    status, _, body = inbox.call("GET", "/health")
    assert status == 200
    assert json.loads(body) == {"status": "ok"}


def test_an_email_shows_up_in_the_api_with_its_code_and_on_the_console(
    lines: Inbox, test_id: str
) -> None:
    address = f"jane-{test_id}@example.com"
    send_mail(lines.smtp_port, address, purpose="registration")

    assert lines.next_line() == f"code 042917 → {address} (registration)"
    [message] = lines.messages(to=address.upper())
    assert message["channel"] == "email"
    assert message["to"] == address
    assert message["subject"] == "Your Tessera verification code"
    assert message["code"] == "042917"
    assert message["purpose"] == "registration"
    assert "Use this code to complete your registration:" in message["text"]
    assert "<p>042917</p>" in message["html"]
    assert datetime.fromisoformat(message["received_at"]).tzinfo is not None
    assert isinstance(message["id"], int)


def test_an_sms_posted_to_the_webhook_shows_up_in_the_api(lines: Inbox) -> None:
    to = f"+4179{free_port():07d}"
    status, _, body = lines.post_sms(
        {"to": to, "text": "583104 is your Tessera sign-in code.", "from": "Tessera"}
    )
    assert status == 201
    assert lines.next_line() == f"code 583104 → {to}"
    [message] = lines.messages(to=to)
    assert message["id"] == json.loads(body)["id"]
    assert (message["channel"], message["code"], message["subject"]) == ("sms", "583104", "")
    assert message["purpose"] == ""


def test_the_newest_message_comes_first(inbox: Inbox) -> None:
    to = f"+4178{free_port():07d}"
    inbox.post_sms({"to": to, "text": "1111 first"})
    inbox.post_sms({"to": to, "text": "2222 second", "purpose": "login"})
    assert [(m["code"], m["purpose"]) for m in inbox.messages(to=to)] == [
        ("2222", "login"),
        ("1111", ""),
    ]
    assert inbox.messages()[0]["code"] == "2222"


def test_a_malformed_or_non_json_sms_is_refused_and_not_stored(inbox: Inbox) -> None:
    to = f"+4177{free_port():07d}"
    assert inbox.post_sms({"to": to})[0] == 400
    assert inbox.post_sms({"to": to, "text": "1234"}, content_type="text/plain")[0] == 415
    assert inbox.messages(to=to) == []


def test_the_page_is_self_contained_and_under_a_strict_policy(inbox: Inbox) -> None:
    status, headers, body = inbox.call("GET", "/")
    page = body.decode()
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    policy = headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'sha256-" in policy
    assert "unsafe-inline" not in policy.split("style-src-attr")[0]
    assert "connect-src 'self'" in policy
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing external
    assert '"/api/messages"' in page
    assert 'setAttribute("sandbox", "")' in page
    assert "srcdoc" in page
    assert "setInterval(refresh, 2000)" in page


def test_clearing_empties_the_inbox(test_id: str) -> None:
    own = Inbox()
    try:
        assert own.next_line(within=20).startswith("Tessera Inbox ready: ")
        send_mail(own.smtp_port, f"clear-{test_id}@example.com")
        own.next_line()
        assert len(own.messages()) == 1
        assert own.call("DELETE", "/api/messages")[0] == 204
        assert own.messages() == []
    finally:
        assert own.stop() == 0


@pytest.mark.parametrize("taken", ["smtp", "inbox"])
def test_a_taken_port_ends_the_start_with_one_line_naming_it(taken: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        own = Inbox(**{f"{taken}_port": port})
        assert own.process.wait(20) == 1
        assert own.process.stderr is not None
        error = own.process.stderr.read()
    variable = f"TESSERA_DEV_{taken.upper()}_PORT"
    assert error == f"tessera-inbox: port {port} ({variable}) is already in use\n"


def test_a_bad_port_setting_ends_the_start_with_one_line_naming_it() -> None:
    env = {**os.environ, "TESSERA_DEV_INBOX_PORT": "0"}
    ended = subprocess.run(
        [sys.executable, "-m", "tessera_shared.devinbox"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert ended.returncode == 1
    assert ended.stdout == ""
    assert ended.stderr.startswith("tessera-inbox: TESSERA_DEV_INBOX_PORT is invalid")
    assert ended.stderr.count("\n") == 1


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine")
def test_a_browser_shows_the_code_and_runs_no_script_of_the_email(
    inbox: Inbox, test_id: str
) -> None:
    address = f"browser-{test_id}@example.com"
    send_mail(inbox.smtp_port, address)
    assert CHROMIUM is not None
    shown = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=5000",
            "--dump-dom",
            f"{inbox.url}/",
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    page = shown.stdout
    # The page's own script ran under its policy: the message is listed with its code.
    assert f'<span class="to">{address}</span>' in page
    assert "<output>042917</output>" in page
    # The email's HTML sits in a sandboxed srcdoc frame; its script stays inert text.
    assert '<iframe sandbox="" referrerpolicy="no-referrer"' in page
    assert "&lt;script&gt;alert" in page


# --- otp-delivery's real providers --------------------------------------------------------------


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def deliverer(inbox: Inbox, client: aiohttp.ClientSession) -> Deliverer:
    settings = OtpDeliverySettings(
        smtp_port=inbox.smtp_port,
        smtp_security="none",
        sms_webhook_url=f"{inbox.url}/sms",
        sms_webhook_body='{"to": "$to", "text": "$text", "from": "$sender", "purpose": "$purpose"}',
    )
    return Deliverer(
        SmtpSender(settings),
        WebhookSms(settings, client),
        Translator([SHARED_CATALOGS, CATALOGS]),
        "Tessera",
    )


def delivery(channel: str, recipient: str, kind: DeliveryKind, locale: str) -> DeliveryRequested:
    return DeliveryRequested(
        id=f"evt-{recipient}",
        occurred_at=datetime.now(UTC),
        kind=kind,
        channel=channel,  # type: ignore[arg-type]
        recipient=recipient,
        locale=locale,
        user_id="user-1",
        code="7305",
        expires_in_s=600,
    )


async def test_otp_delivery_email_and_sms_arrive_with_code_and_purpose(
    lines: Inbox, client: aiohttp.ClientSession, test_id: str
) -> None:
    sender = deliverer(lines, client)
    address = f"Greta-{test_id}@Example.de"
    phone = f"+4176{free_port():07d}"
    await sender.deliver(delivery("email", address, DeliveryKind.REGISTRATION_CODE, "de"))
    await sender.deliver(delivery("sms", phone, DeliveryKind.PASSWORD_RESET_CODE, "it"))

    printed = {lines.next_line(), lines.next_line()}
    assert printed == {
        f"code 7305 → {address} (registration)",
        f"code 7305 → {phone} (password_reset)",
    }
    [mail] = lines.messages(to=address.lower())
    assert (mail["code"], mail["purpose"], mail["subject"]) == (
        "7305",
        "registration",
        "Ihr Tessera-Bestätigungscode",
    )
    assert '<html lang="de">' in mail["html"]
    [sms] = lines.messages(to=phone)
    assert (sms["code"], sms["purpose"]) == ("7305", "password_reset")
    assert sms["text"].startswith("7305 è il tuo codice di reimpostazione Tessera.")
