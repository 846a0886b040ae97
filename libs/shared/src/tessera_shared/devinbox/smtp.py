"""The SMTP side: aiosmtpd accepts any mail and files one message per recipient."""

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

from aiosmtpd.smtp import SMTP, Envelope, Session

from tessera_shared.devinbox.store import Message, Store

PURPOSE_HEADER = "X-Tessera-Purpose"


def parse(data: bytes) -> tuple[str, str, str, str]:
    """Subject, plain text, HTML and purpose of a raw message."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return (
        str(message.get("Subject", "")),
        _body(message, "plain"),
        _body(message, "html"),
        str(message.get(PURPOSE_HEADER, "")).strip(),
    )


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else ""


class InboxHandler:
    """aiosmtpd handler: stores what arrives and tells `received` about each stored message."""

    def __init__(self, store: Store, received: Callable[[Message], None]) -> None:
        self._store = store
        self._received = received

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook name
        raw = envelope.original_content or envelope.content or b""
        subject, text, markup, purpose = parse(raw if isinstance(raw, bytes) else raw.encode())
        now = datetime.now(UTC)
        for recipient in envelope.rcpt_tos:
            self._received(
                self._store.add(
                    channel="email",
                    to=recipient,
                    subject=subject,
                    text=text,
                    html=markup,
                    purpose=purpose,
                    received_at=now,
                )
            )
        return "250 Message accepted for delivery"


def protocol_factory(handler: InboxHandler) -> Callable[[], SMTP]:
    """For `loop.create_server`: one SMTP protocol per connection, all sharing the handler."""
    # A fixed hostname: the default looks up the machine's FQDN, which can stall without DNS.
    return lambda: SMTP(handler, hostname="tessera-inbox", ident="Tessera Inbox")
