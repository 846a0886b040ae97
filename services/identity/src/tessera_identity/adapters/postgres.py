"""The PostgreSQL connection pool: opened in the lifespan, reconnecting on its own."""

from typing import Any

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from tessera_identity.config import IdentitySettings


def make_pool(settings: IdentitySettings) -> AsyncConnectionPool[AsyncConnection[Any]]:
    """A pool that is not opened yet; open it with `await pool.open(wait=False)`."""
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
        open=False,
        timeout=5.0,
        # A server restart leaves dead connections in the pool: test each before handing it out.
        check=AsyncConnectionPool.check_connection,
        kwargs={"connect_timeout": 3, "application_name": "tessera-identity"},
        name="identity",
    )


async def ping(pool: AsyncConnectionPool[AsyncConnection[Any]]) -> None:
    async with pool.connection(timeout=2.0) as conn:
        await conn.execute("SELECT 1")
