"""Ed25519 signing keys: loaded from a folder or PEM, generated once for local runs; JWKS.

Key ids are `<UTC timestamp>-<RFC 7638 thumbprint prefix>`, so sorting by name sorts by age:
the newest key signs, every key in the folder is published. Rotation: add a key
(`python -m tessera_session keys rotate`), wait one access-token lifetime, then delete the old
file; tokens signed by it verify until they expire.
"""

import base64
import hashlib
import json
import time
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


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


class KeyRing:
    """The key that signs (newest) and all keys that verify (published in the JWKS)."""

    def __init__(self, keys: list[SigningKey]) -> None:
        if not keys:
            raise ValueError("no signing key")
        self.keys = keys

    @property
    def current(self) -> SigningKey:
        return self.keys[-1]

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [public_jwk(k.kid, k.private.public_key()) for k in reversed(self.keys)]}
