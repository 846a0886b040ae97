"""The inbox's memory: the last messages, newest first, and the code each one carries. Pure."""

import html
import re
from collections import deque
from datetime import datetime
from typing import Literal

import msgspec

Channel = Literal["email", "sms"]
CAPACITY = 1000

# One-time codes are 4 to 10 digits (identity's code length). The templates frame the code as a
# paragraph of its own (email) or as the first word (SMS); any other standalone run is a fallback.
_ALONE_ON_A_LINE = re.compile(r"^[ \t]*(\d{4,10})[ \t]*$", re.MULTILINE)
_FIRST_WORD = re.compile(r"\A\s*(\d{4,10})(?!\w)")
_STANDALONE = re.compile(r"(?<![\w.,:/-])(\d{4,10})(?![\w]|[.,:/-]\d)")
_TAG = re.compile(r"<[^>]*>")


class Message(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    """Increases with every message received; never reused, also not after a clear."""
    channel: Channel
    to: str
    subject: str
    """Empty for SMS."""
    text: str
    code: str | None
    """The one-time code found in the text, or null."""
    purpose: str
    """What the code is for (`X-Tessera-Purpose`, or the webhook's `purpose`), or empty."""
    html: str
    """The email's HTML part, or empty."""
    received_at: datetime


def extract_code(text: str) -> str | None:
    """The code the text presents: alone on a line, else leading, else the first standalone run."""
    for pattern in (_ALONE_ON_A_LINE, _FIRST_WORD, _STANDALONE):
        found = pattern.search(text)
        if found:
            return found.group(1)
    return None


def html_to_text(markup: str) -> str:
    """Rough text of an HTML body, one line per tag boundary; only used to look for a code."""
    return html.unescape(_TAG.sub("\n", markup))


class Store:
    """Bounded: beyond `capacity` the oldest message is dropped."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._messages: deque[Message] = deque(maxlen=capacity)
        self._last_id = 0

    def add(
        self,
        *,
        channel: Channel,
        to: str,
        text: str,
        received_at: datetime,
        subject: str = "",
        html: str = "",
        purpose: str = "",
    ) -> Message:
        self._last_id += 1
        code = extract_code(text) or (extract_code(html_to_text(html)) if html else None)
        message = Message(
            id=self._last_id,
            channel=channel,
            to=to,
            subject=subject,
            text=text,
            code=code,
            purpose=purpose,
            html=html,
            received_at=received_at,
        )
        self._messages.appendleft(message)
        return message

    def messages(self, to: str | None = None) -> list[Message]:
        """Newest first; `to` matches exactly, ignoring case for email addresses."""
        if to is None:
            return list(self._messages)
        folded = to.casefold()
        return [
            m
            for m in self._messages
            if (m.to.casefold() == folded if m.channel == "email" else m.to == to)
        ]

    def clear(self) -> None:
        self._messages.clear()


def announcement(message: Message) -> str:
    """The one line printed on receipt: `code 042917 → jane@example.com (registration)`."""
    head = f"code {message.code}" if message.code else f"{message.channel} without a code"
    tail = f" ({message.purpose})" if message.purpose else ""
    return f"{head} → {message.to}{tail}"
