"""Composition root: builds the pool and registers readiness checks inside the lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from tessera_identity.adapters.postgres import make_pool, ping
from tessera_identity.config import IdentitySettings
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks


def lifespan(settings: IdentitySettings, health: HealthChecks) -> Lifespan:
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        pool = make_pool(settings)
        # wait=False: start even while PostgreSQL is down; readiness says so until it is back.
        await pool.open(wait=False)
        health.add("postgres", lambda: ping(pool))
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return run
