"""What the worker needs from the outside: senders per channel and the sent-events ledger."""

from typing import Protocol

import msgspec


class Email(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    subject: str
    text: str
    html: str
    locale: str


class Sms(msgspec.Struct, frozen=True, kw_only=True):
    to: str
    text: str


class SendError(Exception):
    """A provider could not deliver; retried later. The message never contains the code."""


class EmailSender(Protocol):
    name: str

    async def send(self, email: Email) -> None: ...


class SmsSender(Protocol):
    name: str

    async def send(self, sms: Sms) -> None: ...


class SentLedger(Protocol):
    """Remembers which events were delivered, so a redelivered event is not sent twice."""

    async def was_sent(self, event_id: str) -> bool: ...
    async def mark_sent(self, event_id: str) -> None: ...
