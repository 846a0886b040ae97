"""API keys of client applications: format, public id, storage hash (`routes`: where needed).

Pure: no I/O. A key is `tsk_` + 32 random bytes in base64url (256 bits), so a plain SHA-256 is
a safe storage hash (no salt or slow hash needed: nothing to guess). Its first 12 characters
are the key id, public: operators list and revoke keys by it and never see the secret again
(the id shows 48 of the 256 bits; the other 208 stay secret, far beyond guessing).
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Protocol

import msgspec

KEY_PREFIX = "tsk_"
KEY_ID_LENGTH = len(KEY_PREFIX) + 8
NAME_MAX_LENGTH = 64
HEADER = "x-api-key"

_SECRET_BYTES = 32
_KEY = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{43}}")
_KEY_ID = re.compile(rf"{KEY_PREFIX}[A-Za-z0-9_-]{{8}}")


class ApiKeyRecord(msgspec.Struct, kw_only=True, frozen=True):
    """What is known about an issued key; never the key itself."""

    key_id: str
    """Public start of the key (`tsk_` + 8 characters), to list and revoke it."""
    name: str
    """The client application, as the operator named it."""
    created_at: datetime
    """When the key was issued (UTC)."""
    revoked_at: datetime | None = None
    """When the key was revoked (UTC); revoked keys stay listed and stop working."""

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class ApiKeyStoreUnavailableError(Exception):
    """The key store cannot answer now (e.g. Redis is down): neither valid nor invalid."""


class InvalidKeyNameError(ValueError):
    """The name given to a new key is empty, too long or has control characters."""


class ApiKeyVerifier(Protocol):
    async def verify(self, plain_key: str) -> ApiKeyRecord | None:
        """The active key's record; None when unknown or revoked.

        Raises `ApiKeyStoreUnavailableError` when the store cannot be asked.
        """
        ...


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)


def key_id_of(plain_key: str) -> str:
    return plain_key[:KEY_ID_LENGTH]


def is_well_formed(plain_key: str) -> bool:
    """Whether `plain_key` could be a key we issued; anything else is refused without a lookup."""
    return _KEY.fullmatch(plain_key) is not None


def is_key_id(value: str) -> bool:
    return _KEY_ID.fullmatch(value) is not None


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
