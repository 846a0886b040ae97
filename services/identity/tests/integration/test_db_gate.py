"""The database gate against real PostgreSQL: busy is not down, down is answered at once."""

import asyncio
import logging
import time

import pytest
from psycopg import AsyncConnection, OperationalError

from tessera_identity.adapters.db_gate import (
    DatabaseGate,
    DatabaseUnreachableError,
    check_unless_fresh,
)
from tessera_identity.adapters.postgres import make_gate, make_pool, ping
from tessera_shared.testing.waiting import eventually

from .conftest import settings_for


async def test_a_busy_pool_keeps_requests_waiting_while_the_server_answers(
    postgres_url, nats_url, test_id
):
    settings = settings_for(postgres_url, nats_url, test_id, database_pool_max=1)
    pool = make_pool(settings)
    await pool.open(wait=True)
    probes = 0

    async def probe() -> None:
        nonlocal probes
        probes += 1
        conn = await AsyncConnection.connect(postgres_url)
        await conn.close()

    gate = DatabaseGate(pool, probe)
    try:
        held = await gate.getconn()
        waiting = [asyncio.create_task(gate.getconn()) for _ in range(5)]
        await asyncio.sleep(0.6)  # past the point where the gate asks the server
        assert not any(task.done() for task in waiting)
        assert not gate.down
        assert probes == 1  # one question for all the waiting requests, not one each
        await gate.putconn(held)
        for task in waiting:
            conn = await asyncio.wait_for(task, 2)
            assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)
            await gate.putconn(conn)
    finally:
        await gate.aclose()
        await pool.close()


async def test_a_server_that_went_away_closes_the_gate_until_it_is_back(
    own_postgres, nats_url, test_id
):
    settings = settings_for(own_postgres.url(), nats_url, test_id)
    pool = make_pool(settings)
    await pool.open(wait=True)
    gate = make_gate(settings, pool)
    try:
        own_postgres.stop()
        with pytest.raises(DatabaseUnreachableError):
            await gate.getconn()
        assert gate.down
        started = time.monotonic()
        with pytest.raises(DatabaseUnreachableError):
            await gate.getconn()
        assert time.monotonic() - started < 0.05

        own_postgres.start()
        back = time.monotonic()
        await eventually(lambda: asyncio.sleep(0, gate.down), lambda down: not down, 10)
        async with gate.connection() as conn:
            await conn.execute("SELECT 1")
        print(f"\nserved again {time.monotonic() - back:.2f} s after the restart returned")
        assert pool.get_stats()["requests_waiting"] == 0
    finally:
        await gate.aclose()
        await pool.close()


async def test_the_readiness_ping_ends_its_transaction_before_the_connection_goes_back(
    postgres_url, nats_url, test_id, caplog
):
    settings = settings_for(postgres_url, nats_url, test_id, database_pool_max=1)
    pool = make_pool(settings)
    await pool.open(wait=True)
    gate = make_gate(settings, pool)
    try:
        with caplog.at_level(logging.WARNING, logger="psycopg.pool"):
            for _ in range(3):  # as readiness probes do, every few seconds
                await ping(gate)
        assert [r.getMessage() for r in caplog.records if r.name == "psycopg.pool"] == []
        async with gate.connection() as conn:
            assert conn.info.transaction_status.name == "IDLE"
    finally:
        await gate.aclose()
        await pool.close()


async def test_a_connection_given_back_a_moment_ago_skips_the_liveness_check_an_idle_one_not(
    postgres_url, nats_url, test_id
):
    settings = settings_for(postgres_url, nats_url, test_id, database_pool_max=1)
    pool = make_pool(settings)
    await pool.open(wait=True)
    gate = make_gate(settings, pool)
    try:
        conn = await gate.getconn()
        pid = conn.info.backend_pid
        await gate.putconn(conn)
        # The server ends that backend: only a round trip can tell.
        other = await AsyncConnection.connect(postgres_url, autocommit=True)
        await other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        await other.close()

        await check_unless_fresh(conn)  # given back just now: trusted, no round trip
        with pytest.raises(OperationalError):
            await check_unless_fresh(conn)  # not given back since: checked, and found dead
    finally:
        await gate.aclose()
        await pool.close()
