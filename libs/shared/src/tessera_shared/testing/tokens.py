"""Claims of valid Tessera tokens, for tests that sign their own (issuer/audience `tessera`)."""

import time
import uuid
from typing import Any


def access_claims(**changes: Any) -> dict[str, Any]:
    """A fresh access token's claims (15 minutes), with `changes` applied."""
    now = int(time.time())
    return {
        "iss": "tessera",
        "aud": "tessera",
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 900,
        "jti": str(uuid.uuid4()),
        "amr": ["pwd"],
        "did": "device-1",
        "aid": "app-1",
        **changes,
    }


def challenge_claims(**changes: Any) -> dict[str, Any]:
    """A fresh MFA challenge token's claims (5 minutes), with `changes` applied."""
    now = int(time.time())
    return {
        "iss": "tessera",
        "aud": "tessera",
        "sub": str(uuid.uuid4()),
        "cid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
        "did": "device-1",
        "aid": "app-1",
        "mfa_mode": "totp",
        **changes,
    }
