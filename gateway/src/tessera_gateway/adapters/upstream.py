"""Pooled keep-alive HTTP to the services (aiohttp: measured far faster than httpx here).

A pooled connection may be closed by the service just as it is reused: granian closes a
keep-alive connection that stayed idle for its header-read timeout (30 s). The pool therefore
drops idle connections well before (`IDLE_TIMEOUT_S`), and `exchange` sends a request once
more when the service dropped a reused connection without answering (see its docstring).
"""

import logging
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

import aiohttp
import msgspec
from aiohttp.client import IDEMPOTENT_METHODS
from aiohttp.client_reqrep import ConnectionKey
from aiohttp.tracing import Trace

from tessera_gateway.config import GatewaySettings

log = logging.getLogger("tessera.gateway.upstream")

IDLE_TIMEOUT_S = 10.0
"""How long an idle pooled connection is kept: a third of granian's 30 s, so the service
never closes one for idleness while the gateway may still pick it."""


class Answer(msgspec.Struct, frozen=True):
    """A service's answer, read in full."""

    status: int
    body: bytes
    headers: list[tuple[str, str]]
    """The answer's headers among those asked for, in order, repeated ones each."""


def make_client(settings: GatewaySettings) -> aiohttp.ClientSession:
    connector = _PoolNotingConnector(
        limit=settings.upstream_connections, keepalive_timeout=IDLE_TIMEOUT_S, ttl_dns_cache=60
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout_s, connect=2.0),
        auto_decompress=False,
        cookie_jar=aiohttp.DummyCookieJar(),
    )


class _Attempt:
    """What one try learnt: whether its connection came from the pool, whether it was answered."""

    def __init__(self) -> None:
        self.reused = False
        self.answered = False


_attempt: ContextVar[_Attempt | None] = ContextVar("upstream_attempt", default=None)
"""The try under way in this task; the connector runs in the task that sends the request."""


class _PoolNotingConnector(aiohttp.TCPConnector):
    """Notes on the try under way when its connection came from the pool.

    Instead of a `TraceConfig` (`on_connection_reuseconn`): a trace makes every request await
    a dozen signal sends, ~3 % of a proxied request's CPU. `_get` is aiohttp's own (pinned
    version) pool lookup, which `connect` calls before opening a new connection.
    """

    async def _get(
        self, key: ConnectionKey, traces: list[Trace]
    ) -> aiohttp.connector.Connection | None:
        connection = await super()._get(key, traces)
        if connection is not None and (attempt := _attempt.get()) is not None:
            attempt.reused = True
        return connection


async def exchange(
    client: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    relayed: Sequence[str],
) -> Answer:
    """Send one request and read the whole answer; aiohttp's errors pass through.

    Sent a second time, whatever the method, only when the first try went out on a reused
    pooled connection that the service dropped before answering a single byte
    (`ServerDisconnectedError`, or a reset): a service closes only connections that are idle
    between two requests, so it closed this one before reading the request and never handled
    it. A new connection is used for the second try. A failure after any byte of the answer,
    or on a fresh connection, is not repeated: the service may have acted on the request.
    (Only a service process killed while handling a request on a reused connection would
    look the same; granian finishes requests in flight before a worker stops.)
    Idempotent methods are retried that way by aiohttp itself already.
    """

    async def send(attempt: _Attempt) -> Answer:
        noted = _attempt.set(attempt)
        try:
            async with client.request(method, url, data=body, headers=headers) as answer:
                attempt.answered = True
                content = await answer.read()
                return Answer(
                    status=answer.status,
                    body=content,
                    headers=[
                        (name, value)
                        for name in relayed
                        for value in answer.headers.getall(name, [])
                    ],
                )
        finally:
            _attempt.reset(noted)

    first = _Attempt()
    try:
        return await send(first)
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientConnectionResetError):
        if not first.reused or first.answered or method in IDEMPOTENT_METHODS:
            raise
        log.info("%s %s: pooled connection closed by the service, sent again", method, url)
    return await send(_Attempt())


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
