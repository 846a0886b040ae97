"""Pooled keep-alive connections the upstream has closed: never a 502 for the client.

The stand-in is a raw asyncio HTTP/1.1 server that answers the first request of a connection
with keep-alive and closes the connection when the next request arrives, without reading or
answering it: what a server does whose idle timeout expired just as the gateway reused the
connection. It counts the requests it handled, so a retry that repeated one would show.
"""

import asyncio
import threading
from collections.abc import Iterator

import pytest
from granian.http import HTTP1Settings
from litestar.testing import AsyncTestClient

from tessera_gateway.adapters.upstream import IDLE_TIMEOUT_S
from tessera_gateway.app import create_app
from tessera_shared.devservers import free_port

BODY = b'{"ok":true}'


class ClosingUpstream:
    """Answers one request per connection, then drops the connection at the next one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.handled: list[bytes] = []
        self.dropped = 0
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self.loop).result(10)

    def stop(self) -> None:
        async def close() -> None:
            assert self._server is not None
            self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", self.port)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                0,
            )
            body = await reader.readexactly(length)
            self.handled.append(head.split(b"\r\n", 1)[0] + b" " + body)
            writer.write(
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
                b"Connection: keep-alive\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
            )
            await writer.drain()
            if await reader.read(1):  # the next request begins: drop it, unread, unanswered
                self.dropped += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.transport.abort()


@pytest.fixture
def closing_upstream() -> Iterator[ClosingUpstream]:
    upstream = ClosingUpstream()
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/authenticate"), ("PATCH", "/v1/stand-in"), ("GET", "/v1/stand-in")],
)
async def test_a_request_on_a_pooled_connection_the_upstream_just_closed_is_not_a_502(
    gateway_settings, closing_upstream, method, path
):
    """Sent once more on a new connection: the upstream handles each request exactly once."""
    settings = gateway_settings(session_url=closing_upstream.url, upstream_timeout_s=5)
    json = {"content-type": "application/json"}
    async with AsyncTestClient(create_app(settings)) as client:
        for n in range(3):
            body = b'{"n":%d}' % n if method != "GET" else b""
            answer = await client.request(method, path, content=body, headers=json)
            assert answer.status_code == 201, answer.text
            assert answer.content == BODY
    assert closing_upstream.dropped == 2
    assert [line.split(b" ", 1)[0] for line in closing_upstream.handled] == [method.encode()] * 3
    if method != "GET":
        assert [line.rsplit(b" ", 1)[1] for line in closing_upstream.handled] == [
            b'{"n":0}',
            b'{"n":1}',
            b'{"n":2}',
        ]


def test_the_pool_drops_idle_connections_well_before_the_services_server_would():
    """granian closes a keep-alive connection idle for its header-read timeout."""
    granian_idle_s = HTTP1Settings.header_read_timeout / 1000
    assert granian_idle_s / 2 >= IDLE_TIMEOUT_S
