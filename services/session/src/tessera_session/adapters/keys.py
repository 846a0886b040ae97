"""Ed25519 signing keys: loaded from a folder or PEM, generated once for local runs; JWKS.

Key ids are `<UTC timestamp>-<RFC 7638 thumbprint prefix>`, so sorting by name sorts by age.
Every key in the folder is published; the newest key older than the signing delay signs (the
oldest key when none is: a first key signs at once). Rotation without a failed token: add a key
(`python -m tessera_session keys rotate`); every instance re-reads the folder and publishes it,
and it signs only after the delay, when every verifier can fetch it. Delete the old file one
access-token lifetime later; tokens it signed verify until they expire.
"""

import base64
import calendar
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tessera_shared.tokens.jwks import JwksCache


class SigningKey(msgspec.Struct, frozen=True):
    kid: str
    private: Ed25519PrivateKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(kid: str, public: Ed25519PublicKey) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64(raw),
        "kid": kid,
        "alg": "EdDSA",
        "use": "sig",
    }


def thumbprint(public: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of the public key."""
    jwk = public_jwk("", public)
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x")}, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def generate(folder: Path) -> SigningKey:
    """A new key, written to `folder` (mode 0600)."""
    private = Ed25519PrivateKey.generate()
    # Microseconds in the id: keys made within one second still sort by age.
    ns = time.time_ns()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(ns // 10**9))
    kid = f"{stamp}.{ns // 1000 % 10**6:06d}Z-{thumbprint(private.public_key())[:8]}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kid}.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return SigningKey(kid, private)


def load_pem(pem: bytes, kid: str | None = None) -> SigningKey:
    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("signing keys must be Ed25519")
    return SigningKey(kid or thumbprint(private.public_key())[:16], private)


def load_folder(folder: Path) -> list[SigningKey]:
    """Every key in the folder, oldest first."""
    return [load_pem(p.read_bytes(), p.stem) for p in sorted(folder.glob("*.pem"))]


def made_at(kid: str) -> float:
    """When `generate` made the key (the UTC time its id starts with); 0 for other ids."""
    try:
        return float(calendar.timegm(time.strptime(kid[:15], "%Y%m%dT%H%M%S")))
    except ValueError:
        return 0.0


class KeyRing:
    """The key that signs and all keys that verify (published in the JWKS); see the module.

    `verification_keys` is this service's own verifier's key cache, kept in step on `replace`.
    """

    def __init__(
        self,
        keys: list[SigningKey],
        delay_s: float = 0.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._delay_s = delay_s
        self._clock = clock
        self.verification_keys = JwksCache.from_keys({})
        self.replace(keys)

    def replace(self, keys: list[SigningKey]) -> None:
        """Takes the keys now in the folder (oldest first)."""
        if not keys:
            raise ValueError("no signing key")
        self.keys = keys
        self._signs_from = [made_at(k.kid) + self._delay_s for k in keys]
        self.verification_keys.replace_keys({k.kid: k.private.public_key() for k in keys})

    @property
    def current(self) -> SigningKey:
        now = self._clock()
        for key, signs_from in zip(reversed(self.keys), reversed(self._signs_from), strict=True):
            if signs_from <= now:
                return key
        return self.keys[0]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [public_jwk(k.kid, k.private.public_key()) for k in reversed(self.keys)]}
