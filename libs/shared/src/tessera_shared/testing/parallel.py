"""Really concurrent requests against an app under litestar's test client."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from litestar.testing import AsyncTestClient


async def in_parallel(
    client: AsyncTestClient[Any], calls: list[Callable[[httpx.AsyncClient], Awaitable[Any]]]
) -> list[Any]:
    """Run `calls` at the same time inside the app's own event loop.

    The litestar test client runs each request to completion in a blocking portal, so
    `asyncio.gather` over it sends them one after the other; here they really overlap.
    """

    async def run() -> list[Any]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            return list(await asyncio.gather(*(call(http) for call in calls)))

    return client.blocking_portal.call(run)
