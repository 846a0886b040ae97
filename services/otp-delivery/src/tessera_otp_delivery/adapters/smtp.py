"""Email over SMTP with aiosmtplib: STARTTLS, implicit TLS or plain; optional login.

`send` returns as soon as the server has accepted the message; QUIT runs in the background.
That keeps the window in which a crash could lead to a second copy (accepted, but not yet
marked as sent) as short as possible.
"""

import asyncio
import contextlib
from email.message import EmailMessage

import aiosmtplib
from opentelemetry.trace import SpanKind

from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.ports import Email, SendError
from tessera_shared.telemetry import tracer

_tracer = tracer("tessera.otp_delivery.smtp")


class SmtpSender:
    name = "smtp"

    def __init__(self, settings: OtpDeliverySettings) -> None:
        self._settings = settings
        self._closing: set[asyncio.Task[None]] = set()

    def compose(self, email: Email) -> EmailMessage:
        s = self._settings
        domain = s.smtp_from.rpartition("@")[2].strip("> ") or "localhost"
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = f"<{email.id}@{domain}>"
        if email.purpose:  # lets a local inbox (Tessera Inbox, Mailpit) label the code
            message["X-Tessera-Purpose"] = email.purpose
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        # After the body: set_content/add_alternative move Content-* headers into the parts.
        message["Content-Language"] = email.locale
        return message

    async def send(self, email: Email) -> None:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            timeout=s.smtp_timeout_s,
        )
        with _tracer.start_as_current_span(
            "smtp send", kind=SpanKind.CLIENT, attributes={"server.address": s.smtp_host}
        ):
            try:
                await client.connect()
                await client.send_message(self.compose(email))
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                client.close()
                raise SendError(f"smtp: {type(exc).__name__}") from None
        task = asyncio.create_task(self._quit(client))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _quit(client: aiosmtplib.SMTP) -> None:
        with contextlib.suppress(Exception):
            await client.quit()
        client.close()
