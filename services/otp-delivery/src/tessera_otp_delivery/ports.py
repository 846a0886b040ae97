"""What the service layer needs from the outside: senders per channel, the sent-events ledger,
and the event being handled as the queue handed it over. Adapters implement these, tests may
fake them."""

import enum
from typing import Protocol

import msgspec


class Email(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    """The event id; becomes the Message-ID, so a rare duplicate is the same message."""
    to: str
    subject: str
    text: str
    html: str
    locale: str
    purpose: str = ""
    """What it is for (`registration`, `login`, `registration_notice`…), for local inboxes."""


class Sms(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    text: str
    purpose: str = ""
    """As `Email.purpose`."""


class SendError(Exception):
    """A provider could not deliver; retried later. The message never contains the code."""


class EmailSender(Protocol):
    name: str

    async def send(self, email: Email) -> None: ...


class SmsSender(Protocol):
    name: str

    async def send(self, sms: Sms) -> None: ...


class Claim(enum.StrEnum):
    MINE = "mine"
    """Nobody sent it or is sending it: go ahead."""
    SENT = "sent"
    """Already delivered: acknowledge and skip."""
    BUSY = "busy"
    """Another worker is sending it right now: try again later."""


class SentLedger(Protocol):
    """Remembers which events were delivered, so a redelivered event is not sent twice."""

    async def claim(self, event_id: str, stale_after_s: float) -> Claim: ...
    async def mark_sent(self, event_id: str) -> None: ...
    async def release(self, event_id: str) -> None: ...


class Received(Protocol):
    """One delivery request as the queue handed it over; `ack`, `retry` or `dead` settles it."""

    @property
    def data(self) -> bytes: ...
    @property
    def attempt(self) -> int:
        """How many times it was handed over, this one included (1 the first time)."""
        ...

    @property
    def headers(self) -> dict[str, str]:
        """The publisher's headers (trace context)."""
        ...

    async def ack(self) -> None:
        """Done: never handed over again."""
        ...

    async def retry(self, delay_s: float) -> None:
        """Hand it over again after `delay_s`."""
        ...

    async def dead(self, reason: str) -> None:
        """Give up: the payload goes to the dead-letter subject with `reason`."""
        ...
