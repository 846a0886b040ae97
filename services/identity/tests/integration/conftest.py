"""The identity app against real PostgreSQL and NATS, isolated per test."""

from collections.abc import AsyncIterator
from typing import Any

import msgspec
import psycopg
import pytest
from litestar.testing import AsyncTestClient

from tessera_identity.app import create_app
from tessera_identity.config import IdentitySettings
from tessera_identity.migrate import migrate
from tessera_shared.contracts.events import DeliveryRequested
from tessera_shared.testing.events import wait_for_event


class Env(msgspec.Struct):
    client: AsyncTestClient[Any]
    settings: IdentitySettings
    database_url: str
    nats_url: str

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
        "internal_token": "internal-test-token",
        "otp_hmac_key": "test-otp-key",
        **overrides,
    }
    return IdentitySettings(**values)


@pytest.fixture
async def identity(postgres_url: str, nats_url: str, test_id: str) -> AsyncIterator[Env]:
    migrate(postgres_url)
    settings = settings_for(postgres_url, nats_url, test_id)
    async with AsyncTestClient(create_app(settings)) as client:
        yield Env(client=client, settings=settings, database_url=postgres_url, nats_url=nats_url)
