"""Refresh tokens: `<user id>.<family id>.<secret>`, opaque to clients, stored as a digest.

The first secret is 256 random bits. Each rotation's successor is derived from the presented
secret with a server key (HMAC-SHA256), so two honest requests racing with the same token
compute the same successor: both get a working token, and nothing in plain text is stored.
"""

import base64
import hashlib
import hmac
import re
import secrets
import uuid

import msgspec

_SECRET = re.compile(r"^[A-Za-z0-9_-]{43}$")


class RefreshToken(msgspec.Struct, frozen=True):
    user_id: str
    family_id: str
    secret: str

    def __str__(self) -> str:
        return f"{self.user_id}.{self.family_id}.{self.secret}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.secret.encode()).hexdigest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_family(user_id: str) -> RefreshToken:
    return RefreshToken(user_id, str(uuid.uuid4()), _b64(secrets.token_bytes(32)))


def successor(token: RefreshToken, key: bytes) -> RefreshToken:
    derived = hmac.new(key, token.secret.encode(), hashlib.sha256).digest()
    return RefreshToken(token.user_id, token.family_id, _b64(derived))


def successors(token: RefreshToken, key: bytes, count: int) -> list[RefreshToken]:
    """The next `count` tokens of the chain after `token`: its successor, that one's, ..."""
    chain: list[RefreshToken] = []
    for _ in range(count):
        token = successor(token, key)
        chain.append(token)
    return chain


def parse(raw: str | None) -> RefreshToken | None:
    """The token, or None for anything malformed (never an exception)."""
    if not raw or len(raw) > 200:
        return None
    parts = raw.split(".")
    if len(parts) != 3 or not _SECRET.fullmatch(parts[2]):
        return None
    try:
        user_id, family_id = str(uuid.UUID(parts[0])), str(uuid.UUID(parts[1]))
    except ValueError:
        return None
    return RefreshToken(user_id, family_id, parts[2])
