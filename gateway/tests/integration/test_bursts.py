"""A burst of concurrent requests through one gateway process: each waits its turn, no 5xx.

The gateway runs as a real server process (the test client would serve one request at a time),
in front of the stand-ins, with real Redis behind its revocation check and rate limiter.
"""

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from tessera_shared.devservers import free_port
from tessera_shared.devstack import Part, PartProcess
from tessera_shared.redis import make_redis

from .conftest import Upstream
from .test_access_tokens import KEY, KID, Session, live

BURST = 400


@pytest.fixture
def gateway_process(
    redis_url: str,
    test_id: str,
    identity_upstream: Upstream,
    session_upstream: Upstream,
    tmp_path: Path,
) -> Iterator[PartProcess]:
    """One gateway process (one worker) in front of the stand-ins."""
    session_upstream.signing_keys[KID] = KEY
    env = {
        "TESSERA_GATEWAY_PORT": str(free_port()),
        "TESSERA_GATEWAY_WORKERS": "1",
        "TESSERA_GATEWAY_LOG_LEVEL": "warning",
        "TESSERA_GATEWAY_REDIS_URL": redis_url,
        "TESSERA_GATEWAY_IDENTITY_URL": identity_upstream.url,
        "TESSERA_GATEWAY_SESSION_URL": session_upstream.url,
        "TESSERA_GATEWAY_SESSION_JWKS_URL": f"{session_upstream.url}/.well-known/jwks.json",
        "TESSERA_GATEWAY_SESSION_KEY_PREFIX": f"t{test_id}:",
        "TESSERA_GATEWAY_RATE_LIMIT_PREFIX": f"t{test_id}:rl:",
        "TESSERA_GATEWAY_API_KEY_PREFIX": f"t{test_id}:apikey:",
        # The per-IP limit would refuse part of the burst with 429: this test is about capacity.
        "TESSERA_GATEWAY_RATE_LIMIT_DEFAULT_PER_MINUTE": "100000",
    }
    part = Part("gateway", "tessera_gateway", "TESSERA_GATEWAY_", int(env["TESSERA_GATEWAY_PORT"]))
    process = PartProcess(part, env, tmp_path / "gateway.log")
    process.start()
    try:
        process.wait_ready(30)
        yield process
    except BaseException:
        print((tmp_path / "gateway.log").read_text())
        raise
    finally:
        process.stop()


async def test_400_concurrent_authenticated_requests_through_one_gateway_are_never_a_5xx(
    gateway_process, redis_url, test_id, identity_upstream, tmp_path
):
    """More requests in flight than Redis connections: they queue for one, none is refused."""
    redis = make_redis(redis_url)
    try:
        session = await live(redis, Session(f"t{test_id}:"))
    finally:
        await redis.aclose()
    url = f"{gateway_process.url}/v1/users/me"

    async def one(client: aiohttp.ClientSession) -> int:
        async with client.get(url, headers=session.bearer) as answer:
            await answer.read()
            return answer.status

    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as client:
        started = time.monotonic()
        statuses = Counter(await asyncio.gather(*(one(client) for _ in range(BURST))))
        elapsed = time.monotonic() - started
    print(f"\n{BURST} concurrent requests in {elapsed:.2f} s: {dict(statuses)}")
    if statuses != {201: BURST}:
        print((tmp_path / "gateway.log").read_text()[-3000:])
    assert statuses == {201: BURST}
    assert len(identity_upstream.seen) == BURST
    # Counted, not let through for want of a connection: the limiter never thought Redis down.
    assert "unavailable" not in (tmp_path / "gateway.log").read_text()
