"""The PostgreSQL connection pool: opened in the lifespan, reconnecting on its own."""

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from tessera_identity.adapters.db_gate import DatabaseGate, check_unless_fresh
from tessera_identity.config import IdentitySettings

APPLICATION_NAME = "tessera-identity"


def make_pool(settings: IdentitySettings) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """A pool that is not opened yet; open it with `await pool.open(wait=False)`."""
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        open=False,
        timeout=5.0,
        # A server restart leaves dead connections in the pool: test each before handing it out
        # (unless it was in use a moment ago).
        check=check_unless_fresh,
        # Background reconnection gives up soon (its back-off doubles up to minutes); the pool
        # then grows again on demand, at once, when the gate has seen the server come back.
        reconnect_timeout=3.0,
        kwargs={"connect_timeout": 3, "application_name": APPLICATION_NAME},
        name="identity",
    )


def make_gate(
    settings: IdentitySettings, pool: AsyncConnectionPool[AsyncConnection[Any]]
) -> DatabaseGate:
    """The pool behind a gate that answers at once while PostgreSQL is unreachable."""

    async def probe() -> None:
        conn = await AsyncConnection.connect(
            settings.database_url, connect_timeout=2, application_name=APPLICATION_NAME
        )
        await conn.close()

    return DatabaseGate(pool, probe)


async def ping(gate: DatabaseGate) -> None:
    async with gate.connection(timeout_s=2.0) as conn:
        await conn.execute("SELECT 1")
