"""The admin API's rules: key scopes, who an action is recorded as, searches, page cursors. Pure.

The gateway authenticates the admin key and forwards its id and scopes; which scope a route
needs is decided here, next to the routes (`api/admin.py`).
"""

import base64
import binascii
import re
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import msgspec

from tessera_shared.contracts.admin import AdminScope


def scopes_of(header: str) -> frozenset[AdminScope]:
    """The scopes of the forwarded `x-admin-scopes` (space-separated); unknown words ignored."""
    known = {scope.value for scope in AdminScope}
    return frozenset(AdminScope(word) for word in header.split() if word in known)


_KEY_ID = re.compile(r"tsa_[A-Za-z0-9_-]{8}")


def actor_of(key_id: str) -> str:
    """How the audit trail names an admin key's action: `admin:<key id>`."""
    return f"admin:{key_id}" if _KEY_ID.fullmatch(key_id) else "admin:unknown"


class SearchTerm(msgspec.Struct, frozen=True, kw_only=True):
    """A search as the database runs it: an exact user id, or the start of an address."""

    user_id: UUID | None = None
    prefix: str | None = None
    """Lower-cased, LIKE wildcards escaped; None: every user."""


def search_term(query: str) -> SearchTerm:
    """`query` as typed by an operator: a user id, an email's start (any case), a phone
    number's start (`+41 79…`, spaces and dashes ignored)."""
    text = query.strip()
    if not text:
        return SearchTerm()
    try:
        return SearchTerm(user_id=UUID(text))
    except ValueError:
        pass
    if re.fullmatch(r"\+?[0-9][0-9 ()-]*", text):
        text = "+" + re.sub(r"[^0-9]", "", text)
    escaped = re.sub(r"([\\%_])", r"\\\1", text.lower())
    return SearchTerm(prefix=escaped)


class UserCursor(msgspec.Struct, frozen=True, array_like=True):
    """Where a page of users ended (newest first): the last one's creation time and id."""

    created_at: datetime
    id: UUID


class AuditCursor(msgspec.Struct, frozen=True, array_like=True):
    """Where a page of audit events ended (newest first): the last one's id."""

    id: int


class InvalidCursorError(ValueError):
    """A cursor this API did not hand out."""


def encode_cursor(cursor: UserCursor | AuditCursor) -> str:
    """Opaque to clients: base64url of the position as JSON."""
    return base64.urlsafe_b64encode(msgspec.json.encode(cursor)).decode().rstrip("=")


C = TypeVar("C", UserCursor, AuditCursor)


def decode_cursor(text: str, kind: type[C]) -> C:
    """Raises `InvalidCursorError` for anything `encode_cursor` did not make."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return msgspec.json.decode(raw, type=kind)
    except (binascii.Error, ValueError, msgspec.ValidationError):
        raise InvalidCursorError(text) from None
