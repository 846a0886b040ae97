"""The identity app against real PostgreSQL and NATS, isolated per test."""

import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import argon2
import jwt
import msgspec
import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from tessera_identity.app import create_app
from tessera_identity.config import IdentitySettings
from tessera_identity.migrate import migrate
from tessera_shared.contracts.events import DeliveryRequested
from tessera_shared.testing.events import wait_for_event
from tessera_shared.testing.tokens import access_claims, challenge_claims
from tessera_shared.tokens import JwksCache

from .session_standin import StandInSession

SIGNING_KID = "identity-test-key"
CHEAP_ARGON2 = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
TEST_TOTP_KEYS = "k1:" + base64.b64encode(b"t" * 32).decode()


class Env(msgspec.Struct):
    client: AsyncTestClient[Any]
    settings: IdentitySettings
    database_url: str
    nats_url: str
    signing_key: Ed25519PrivateKey = msgspec.field(default_factory=Ed25519PrivateKey.generate)
    """Signs the tokens tests send, as the session service would."""

    def access_token(self, user_id: uuid.UUID | str, **changes: Any) -> str:
        return self._sign(access_claims(sub=str(user_id), **changes), "at+jwt")

    def challenge_token(self, user_id: uuid.UUID | str, mfa_mode: str, **changes: Any) -> str:
        claims = challenge_claims(sub=str(user_id), mfa_mode=mfa_mode, **changes)
        return self._sign(claims, "mfa-challenge+jwt")

    def _sign(self, claims: dict[str, Any], typ: str) -> str:
        headers = {"kid": SIGNING_KID, "typ": typ}
        return jwt.encode(claims, self.signing_key, algorithm="EdDSA", headers=headers)

    def active_user(
        self,
        email: str | None,
        phone: str | None = None,
        mfa_mode: str = "none",
        password: str | None = None,
    ) -> uuid.UUID:
        """An account as verify-registration leaves it (phone: a second verified credential;
        without `password` it cannot sign in)."""
        user_id = uuid.uuid4()
        password_hash = CHEAP_ARGON2.hash(password) if password else None
        with self.db() as conn:
            conn.execute(
                "INSERT INTO users (id, status, mfa_mode, password_hash, password_changed_at)"
                " VALUES (%s, 'active', %s, %s, now())",
                (user_id, mfa_mode, password_hash),
            )
            for kind, value in (("email", email), ("phone", phone)):
                if value:
                    conn.execute(
                        "INSERT INTO credentials (id, user_id, type, value, verified_at)"
                        " VALUES (%s, %s, %s, %s, now())",
                        (uuid.uuid4(), user_id, kind, value),
                    )
        return user_id

    def db(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.database_url, autocommit=True)

    def scalar(self, query: str, *params: object) -> Any:
        with self.db() as conn:
            row = conn.execute(query, params).fetchone()
            return row[0] if row else None

    def execute(self, query: str, *params: object) -> None:
        with self.db() as conn:
            conn.execute(query, params)

    async def event(self, recipient: str, kind: str) -> DeliveryRequested:
        return await wait_for_event(
            self.nats_url,
            self.settings.stream_name,
            lambda e: e.recipient == recipient and e.kind == kind,
        )


INTERNAL_TOKEN = "internal-test-token"


@pytest.fixture
def sessions() -> Iterator[StandInSession]:
    """A stand-in for the session service's revocation endpoint, on a free port."""
    standin = StandInSession(INTERNAL_TOKEN)
    standin.start()
    try:
        yield standin
    finally:
        standin.stop()


@pytest.fixture
async def with_sessions(
    postgres_url: str, nats_url: str, test_id: str, sessions: StandInSession
) -> AsyncIterator[Env]:
    """Identity whose session service is the stand-in (`sessions`)."""
    async with running(
        postgres_url, nats_url, test_id, session_url=sessions.url, session_timeout_s=2.0
    ) as env:
        yield env


def settings_for(
    database_url: str, nats_url: str, test_id: str, **overrides: Any
) -> IdentitySettings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "nats_url": nats_url,
        "stream_name": f"ID_{test_id}",
        "subject_prefix": f"t{test_id}.",
        # Cheaper argon2 keeps the suite fast; production parameters are tested separately.
        "argon2_memory_kib": 8192,
        "argon2_time_cost": 1,
        "internal_token": INTERNAL_TOKEN,
        "otp_hmac_key": "test-otp-key",
        "totp_keys": TEST_TOTP_KEYS,
        **overrides,
    }
    return IdentitySettings(**values)


@asynccontextmanager
async def running(
    database_url: str, nats_url: str, test_id: str, **overrides: Any
) -> AsyncIterator[Env]:
    """The identity app with this test's settings (and `overrides`), trusting a test key."""
    migrate(database_url)
    settings = settings_for(database_url, nats_url, test_id, **overrides)
    key = Ed25519PrivateKey.generate()
    jwks = JwksCache.from_keys({SIGNING_KID: key.public_key()})
    async with AsyncTestClient(create_app(settings, jwks)) as client:
        yield Env(
            client=client,
            settings=settings,
            database_url=database_url,
            nats_url=nats_url,
            signing_key=key,
        )


@pytest.fixture
async def identity(postgres_url: str, nats_url: str, test_id: str) -> AsyncIterator[Env]:
    async with running(postgres_url, nats_url, test_id) as env:
        yield env
