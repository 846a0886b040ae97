"""API keys: of client applications (`tsk_`) and of operators on the admin API (`tsa_`).

Pure: no I/O. A key is its kind's prefix + 32 random bytes in base64url (256 bits), so a plain
SHA-256 is a safe storage hash (no salt or slow hash needed: nothing to guess). Its first 12
characters are the key id, public: operators list and revoke keys by it and never see the secret
again (the id shows 48 of the 256 bits; the other 208 stay secret, far beyond guessing).
The two kinds never stand in for each other: a client key is no admin key, nor the reverse.
An admin key carries scopes; the gateway forwards them and the service decides what each needs.
"""

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import msgspec

from tessera_shared.contracts.admin import ADMIN_KEY_ID_HEADER, ADMIN_SCOPES_HEADER, AdminScope


class KeyKind(StrEnum):
    CLIENT = "client"
    """Of a client application, sent as `X-API-Key` (registration, introspection)."""
    ADMIN = "admin"
    """Of an operator, sent as `Authorization: Bearer` on the admin API (`/admin/`)."""


KEY_PREFIXES = {KeyKind.CLIENT: "tsk_", KeyKind.ADMIN: "tsa_"}
KEY_PREFIX = KEY_PREFIXES[KeyKind.CLIENT]
ADMIN_KEY_PREFIX = KEY_PREFIXES[KeyKind.ADMIN]
KEY_ID_LENGTH = len(KEY_PREFIX) + 8
NAME_MAX_LENGTH = 64
HEADER = "x-api-key"
ALL_SCOPES: tuple[AdminScope, ...] = tuple(AdminScope)

_SECRET_BYTES = 32
_KEYS = {kind: re.compile(rf"{prefix}[A-Za-z0-9_-]{{43}}") for kind, prefix in KEY_PREFIXES.items()}
_KEY_IDS = {
    kind: re.compile(rf"{prefix}[A-Za-z0-9_-]{{8}}") for kind, prefix in KEY_PREFIXES.items()
}


class ApiKeyRecord(msgspec.Struct, kw_only=True, frozen=True):
    """What is known about an issued key; never the key itself."""

    key_id: str
    """Public start of the key (`tsk_` or `tsa_` + 8 characters), to list and revoke it."""
    name: str
    """The client application or operator, as the operator named it."""
    created_at: datetime
    """When the key was issued (UTC)."""
    revoked_at: datetime | None = None
    """When the key was revoked (UTC); revoked keys stay listed and stop working."""
    kind: KeyKind = KeyKind.CLIENT
    """Client application or admin key; records made before admin keys existed are clients'."""
    scopes: tuple[AdminScope, ...] = ()
    """What an admin key may do, in `AdminScope` order; none for a client key."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiKeyStoreUnavailableError(Exception):
    """The key store cannot answer now (e.g. Redis is down): neither valid nor invalid."""


class InvalidKeyNameError(ValueError):
    """The name given to a new key is empty, too long or has control characters."""


class InvalidScopeError(ValueError):
    """A scope that is not an `AdminScope`, or no scope at all for an admin key."""


class ApiKeyVerifier(Protocol):
    async def verify(self, plain_key: str) -> ApiKeyRecord | None:
        """The active client key's record; None when unknown, revoked or not a client key.

        Raises `ApiKeyStoreUnavailableError` when the store cannot be asked.
        """
        ...


class AdminKeyVerifier(Protocol):
    async def verify_admin(self, plain_key: str) -> ApiKeyRecord | None:
        """The active admin key's record; None when unknown, revoked or not an admin key.

        Raises `ApiKeyStoreUnavailableError` when the store cannot be asked.
        """
        ...


def new_key(kind: KeyKind = KeyKind.CLIENT) -> str:
    return KEY_PREFIXES[kind] + secrets.token_urlsafe(_SECRET_BYTES)


def key_id_of(plain_key: str) -> str:
    return plain_key[:KEY_ID_LENGTH]


def is_well_formed(plain_key: str, kind: KeyKind = KeyKind.CLIENT) -> bool:
    """Whether `plain_key` could be a key of `kind` we issued; anything else is refused without
    a lookup."""
    return _KEYS[kind].fullmatch(plain_key) is not None


def is_key_id(value: str, kind: KeyKind = KeyKind.CLIENT) -> bool:
    return _KEY_IDS[kind].fullmatch(value) is not None


def kind_of_key_id(value: str) -> KeyKind | None:
    """The kind of key `value` is the id of; None when it is no key id."""
    return next((kind for kind in KeyKind if is_key_id(value, kind)), None)


def hash_key(plain_key: str) -> str:
    """The hex SHA-256 stored instead of the key."""
    return hashlib.sha256(plain_key.encode()).hexdigest()


def hash_matches(plain_key: str, stored_hash: str) -> bool:
    """Constant-time check of `plain_key` against a stored hash."""
    return hmac.compare_digest(hash_key(plain_key), stored_hash)


def check_name(name: str) -> str:
    """The name, stripped; raises `InvalidKeyNameError` when it cannot label a key in a listing."""
    name = name.strip()
    if not name or len(name) > NAME_MAX_LENGTH or not name.isprintable():
        raise InvalidKeyNameError(f"the name must be 1 to {NAME_MAX_LENGTH} printable characters")
    return name


def check_scopes(scopes: Iterable[AdminScope]) -> tuple[AdminScope, ...]:
    """`scopes` once each, in `AdminScope` order; raises `InvalidScopeError` when there is none."""
    chosen = set(scopes)
    if not chosen:
        raise InvalidScopeError("an admin key needs at least one scope")
    return tuple(scope for scope in AdminScope if scope in chosen)


def parse_scopes(names: Iterable[str]) -> tuple[AdminScope, ...]:
    """The scopes named (`users:read`), in `AdminScope` order; every scope when none is named.

    Raises `InvalidScopeError` naming the first unknown one.
    """
    names = list(names)
    if not names:
        return ALL_SCOPES
    known = {scope.value: scope for scope in AdminScope}
    for name in names:
        if name not in known:
            raise InvalidScopeError(f"unknown scope {name!r}; the scopes are {', '.join(known)}")
    return check_scopes(known[name] for name in names)


def scopes_text(scopes: Iterable[AdminScope]) -> str:
    """Scopes as the admin headers and listings write them: `users:read users:write`."""
    return " ".join(scopes)


def admin_headers(record: ApiKeyRecord) -> dict[str, str]:
    """What the service is told of the admin key a request was checked with."""
    return {ADMIN_KEY_ID_HEADER: record.key_id, ADMIN_SCOPES_HEADER: scopes_text(record.scopes)}
