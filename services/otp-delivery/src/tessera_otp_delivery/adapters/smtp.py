"""Email over SMTP with aiosmtplib: STARTTLS, implicit TLS or plain; optional login."""

from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib

from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_otp_delivery.ports import Email, SendError


class SmtpSender:
    name = "smtp"

    def __init__(self, settings: OtpDeliverySettings) -> None:
        self._settings = settings

    async def send(self, email: Email) -> None:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.smtp_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message["Message-ID"] = make_msgid(
            domain=s.smtp_from.rpartition("@")[2].strip("> ") or None
        )
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        # After the body: set_content/add_alternative move Content-* headers into the parts.
        message["Content-Language"] = email.locale
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                use_tls=s.smtp_security == "tls",
                start_tls=s.smtp_security == "starttls",
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                timeout=s.smtp_timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendError(f"smtp: {type(exc).__name__}") from None
