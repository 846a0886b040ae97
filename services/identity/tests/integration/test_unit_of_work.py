"""The SQL unit of work against real PostgreSQL: only what `commit()` made durable stays."""

import pytest
from psycopg import AsyncConnection

from tessera_identity.adapters.postgres import make_gate, make_pool
from tessera_identity.adapters.sql_uow import SqlUnitOfWork
from tessera_identity.migrate import migrate

from .conftest import settings_for


async def audited(database_url: str, subject: str) -> int:
    async with await AsyncConnection.connect(database_url) as conn:
        cur = await conn.execute("SELECT count(*) FROM audit_events WHERE subject = %s", (subject,))
        row = await cur.fetchone()
    return int(row[0]) if row else 0


@pytest.fixture
async def units(postgres_url, nats_url, test_id):  # type: ignore[no-untyped-def]
    migrate(postgres_url)
    settings = settings_for(postgres_url, nats_url, test_id)
    pool = make_pool(settings)
    await pool.open(wait=True)
    gate = make_gate(settings, pool)
    try:
        yield lambda: SqlUnitOfWork(gate)
    finally:
        await pool.close()


async def test_writes_of_a_block_that_did_not_commit_are_rolled_back(units, postgres_url, test_id):
    async with units() as uow:
        await uow.audit.record("login_failed", None, f"forgotten-{test_id}", "127.0.0.1")
    assert await audited(postgres_url, f"forgotten-{test_id}") == 0


async def test_a_commit_keeps_what_came_before_it_and_a_refusal_after_it_drops_the_rest(
    units, postgres_url, test_id
):
    async def refuse_after_commit() -> None:
        async with units() as uow:
            await uow.audit.record("login_failed", None, f"kept-{test_id}", "127.0.0.1")
            await uow.commit()
            await uow.audit.record("login_failed", None, f"dropped-{test_id}", "127.0.0.1")
            raise RuntimeError("refused")

    with pytest.raises(RuntimeError):
        await refuse_after_commit()
    assert await audited(postgres_url, f"kept-{test_id}") == 1
    assert await audited(postgres_url, f"dropped-{test_id}") == 0
