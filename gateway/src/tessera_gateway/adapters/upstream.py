"""Pooled keep-alive HTTP to the services (aiohttp: measured far faster than httpx here)."""

from typing import Any

import aiohttp

from tessera_gateway.config import GatewaySettings


def make_client(settings: GatewaySettings) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(
        limit=settings.upstream_connections, keepalive_timeout=30, ttl_dns_cache=60
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout_s, connect=2.0),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


async def upstream_ready(client: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    """The upstream's own readiness report; raises when it is not ready."""
    async with client.get(
        f"{base_url}/health/ready", timeout=aiohttp.ClientTimeout(total=2.0)
    ) as answer:
        body: dict[str, Any] = await answer.json(content_type=None)
        if answer.status != 200:
            raise ConnectionError(f"upstream not ready ({answer.status})")
        checks: dict[str, Any] = body.get("checks", {})
        return checks
