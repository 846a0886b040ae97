"""A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it receives."""

import email
import email.policy
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tessera_shared.devservers.ports import LOOPBACK, free_port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        raw = envelope.original_content or envelope.content or b""
        data = raw if isinstance(raw, bytes) else raw.encode()
        message = email.message_from_bytes(data, policy=email.policy.default)
        with self.changed:
            self.messages.append(message)
            self.changed.notify_all()
        return "250 Message accepted for delivery"


class SmtpCatcher:
    """Start with `start()`, read with `wait_for(to=...)`, stop with `stop()`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.host = LOOPBACK
        self._inbox = _Inbox()
        self._controller: Controller | None = None

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._inbox.messages)

    def start(self) -> None:
        self._controller = Controller(self._inbox, hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, to: str, timeout: float = 15.0, count: int = 1) -> list[EmailMessage]:
        """Messages addressed to `to`, once at least `count` arrived (else TimeoutError)."""
        deadline = time.monotonic() + timeout
        with self._inbox.changed:
            while True:
                found = [m for m in self._inbox.messages if to in str(m.get("To", ""))]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"no mail to {to} within {timeout}s")
                self._inbox.changed.wait(remaining)
