"""Helpers for tests on the three-node cluster (`nats_cluster`): who leads, and moving a leader.

A stream, a consumer and a key-value bucket (stream `KV_<bucket>`) each have their own Raft
group and leader. Tests that kill "the leader" put the leaders where they want them first, so
the run does not depend on where JetStream happened to place them.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import nats
from nats.aio.client import Client


async def _quiet(exc: Exception) -> None:
    """A node the test killed refuses connections: expected, not worth a traceback."""


@asynccontextmanager
async def cluster_client(url: str) -> AsyncIterator[Client]:
    """A plain nats-py client on a comma-separated URL list (for inspecting the cluster)."""
    client = await nats.connect(servers=url.split(","), connect_timeout=2, error_cb=_quiet)
    try:
        yield client
    finally:
        await client.close()


async def _api(client: Client, subject: str, body: dict[str, object] | None = None) -> dict:  # type: ignore[type-arg]
    payload = json.dumps(body).encode() if body is not None else b""
    answer = await client.request(subject, payload, timeout=2)
    result = json.loads(answer.data)
    assert isinstance(result, dict)
    return result


async def leader(client: Client, stream: str, consumer: str | None = None) -> str | None:
    """Server name of the leader of `stream` (or of its `consumer`); None while electing."""
    subject = (
        f"$JS.API.CONSUMER.INFO.{stream}.{consumer}"
        if consumer
        else f"$JS.API.STREAM.INFO.{stream}"
    )
    try:
        info = await _api(client, subject)
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return None
    found = (info.get("cluster") or {}).get("leader")
    return str(found) if found else None


async def move_leader(
    client: Client, server: str, stream: str, consumer: str | None = None, within: float = 15.0
) -> None:
    """Make `server` the leader of `stream` (or of its `consumer`): a step-down naming it as
    the preferred successor, repeated until it holds."""
    base = (
        f"$JS.API.CONSUMER.LEADER.STEPDOWN.{stream}.{consumer}"
        if consumer
        else f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}"
    )
    deadline = asyncio.get_running_loop().time() + within
    while (current := await leader(client, stream, consumer)) != server:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{server} did not become leader of {stream}; it is {current}")
        if current is not None:
            with suppress(nats.errors.TimeoutError):
                await _api(client, base, {"placement": {"preferred": server}})
        await asyncio.sleep(0.2)
