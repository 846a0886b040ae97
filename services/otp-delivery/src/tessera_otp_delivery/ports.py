"""What the worker needs from the outside: senders per channel and the sent-events ledger."""

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
