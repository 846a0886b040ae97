"""Recovery codes: single-use stand-ins for the second factor, shown once. Pure.

Ten codes of ten characters from an alphabet without look-alikes (~49 bits each), stored
only as HMAC-SHA256 bound to the user; people may type them with or without the dash, in
any case.
"""

import hashlib
import hmac
import secrets
from uuid import UUID

COUNT = 10
LENGTH = 10
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def generate() -> list[str]:
    """`COUNT` new codes, formatted `xxxxx-xxxxx` for reading aloud and typing."""
    codes = []
    for _ in range(COUNT):
        raw = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize(entered: str) -> str:
    return "".join(c for c in entered.lower() if c not in " -")


def digest(key: bytes, user_id: UUID, code: str) -> bytes:
    return hmac.new(key, user_id.bytes + normalize(code).encode(), hashlib.sha256).digest()
