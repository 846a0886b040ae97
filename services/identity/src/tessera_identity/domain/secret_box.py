"""Sealing secrets at rest with AES-256-GCM, under keys named by id so they can rotate. Pure.

The newest key seals; every configured key opens, so old rows keep working until they are
re-sealed. The associated data binds a sealed value to its row (a copied blob fails to open).
"""

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
KEY_BYTES = 32


class SecretBoxError(Exception):
    """A sealed value did not open: unknown key id or tampered data."""


class SecretBox:
    def __init__(self, keys: dict[str, bytes], current: str) -> None:
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.current = current

    @classmethod
    def from_config(cls, text: str) -> "SecretBox":
        """`id:base64key[,id:base64key...]`, the first one sealing; ValueError when malformed."""
        keys: dict[str, bytes] = {}
        for item in (part.strip() for part in text.split(",")):
            kid, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("a key is not base64") from None
            if not kid or len(key) != KEY_BYTES or kid in keys:
                raise ValueError("each key needs a unique id and 32 bytes (base64)")
            keys[kid] = key
        return cls(keys, next(iter(keys)))

    def seal(self, plaintext: bytes, associated: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(NONCE_BYTES)
        return self.current, nonce + self._keys[self.current].encrypt(nonce, plaintext, associated)

    def open(self, key_id: str, sealed: bytes, associated: bytes) -> bytes:
        aead = self._keys.get(key_id)
        if aead is None:
            raise SecretBoxError("unknown key id")
        try:
            return aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], associated)
        except InvalidTag:
            raise SecretBoxError("sealed value does not open") from None
