"""The keep-alive HTTP/1.1 client against real local servers on 127.0.0.1.

Well-behaved answers come from an aiohttp.web server; the misbehaving ones (dropped
connections, slow or closing services) from raw asyncio servers that count what they saw.
"""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from tessera_gateway.adapters import http1
from tessera_gateway.adapters.http1 import (
    Http1Pool,
    UpstreamBroken,
    UpstreamTimeout,
    UpstreamUnreachable,
    exchange,
)
from tessera_gateway.adapters.upstream import Answer
from tessera_shared.devservers import free_port

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


class Counts:
    """What a test server saw."""

    def __init__(self) -> None:
        self.connections = 0
        self.requests = 0
        self.peers: set[tuple[str, int]] = set()
        self.in_flight = 0
        self.most_in_flight = 0


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    return head + await reader.readexactly(length)


@pytest.fixture
async def raw_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    yield start
    for server in servers:
        server.close()


@pytest.fixture
async def web_server() -> AsyncIterator[tuple[str, Counts]]:
    counts = Counts()

    async def answer(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        counts.peers.add(request.transport.get_extra_info("peername"))
        counts.requests += 1
        counts.in_flight += 1
        counts.most_in_flight = max(counts.most_in_flight, counts.in_flight)
        try:
            return await _answer(request)
        finally:
            counts.in_flight -= 1

    app = web.Application()
    app.router.add_route("*", "/{what}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}", counts
    await runner.cleanup()


async def _answer(request: web.Request) -> web.StreamResponse:
    what = request.match_info["what"]
    if what == "echo":
        body = await request.read()
        return web.Response(body=body, headers={"x-method": request.method})
    if what == "chunked":
        streamed = web.StreamResponse(headers={"content-type": "text/plain"})
        streamed.enable_chunked_encoding()
        await streamed.prepare(request)
        for part in (b"a" * 70_000, b"b" * 3, b"c" * 120_000):
            await streamed.write(part)
        await streamed.write_eof()
        return streamed
    if what == "cookies":
        answer = web.Response(text="{}", content_type="application/json")
        answer.headers.add("set-cookie", "a=1; Path=/")
        answer.headers.add("x-not-relayed", "no")
        answer.headers.add("Set-Cookie", "b=2; Path=/")
        answer.headers.add("cache-control", "no-store")
        return answer
    if what == "slowly":
        await asyncio.sleep(0.02)
        return web.Response(text="ok")
    if what == "closing":
        closing = web.Response(text="bye")
        closing.force_close()
        return closing
    if what == "nothing":
        return web.Response(status=204)
    raise web.HTTPNotFound


@pytest.fixture
async def pool() -> AsyncIterator[Http1Pool]:
    made = Http1Pool(limit=8, timeout_s=5.0)
    yield made
    await made.close()


async def post(pool: Http1Pool, url: str, body: bytes = b"{}") -> Answer:
    return await exchange(
        pool, "POST", url, body=body, headers={"content-type": "application/json"}, relayed=()
    )


async def test_sequential_requests_reuse_one_keep_alive_connection(
    pool: Http1Pool, web_server: tuple[str, Counts]
) -> None:
    url, counts = web_server
    for n in range(5):
        answer = await post(pool, f"{url}/echo", f"body {n}".encode())
        assert (answer.status, answer.body) == (200, f"body {n}".encode())
    assert counts.requests == 5
    assert len(counts.peers) == 1


async def test_a_content_length_body_and_a_chunked_body_are_read_in_full(
    pool: Http1Pool, web_server: tuple[str, Counts]
) -> None:
    url, counts = web_server
    big = bytes(range(256)) * 1000
    echoed = await post(pool, f"{url}/echo", big)
    chunked = await exchange(pool, "GET", f"{url}/chunked", body=b"", headers={}, relayed=())
    again = await post(pool, f"{url}/echo", b"after")
    assert echoed.body == big
    assert chunked.body == b"a" * 70_000 + b"bbb" + b"c" * 120_000
    assert again.body == b"after"
    assert len(counts.peers) == 1  # both framings leave the connection reusable


async def test_only_relayed_headers_are_kept_lower_cased_and_repeated_ones_each_in_order(
    pool: Http1Pool, web_server: tuple[str, Counts]
) -> None:
    url, _ = web_server
    answer = await exchange(
        pool,
        "GET",
        f"{url}/cookies",
        body=b"",
        headers={},
        relayed=("cache-control", "set-cookie", "Content-Type", "www-authenticate"),
    )
    assert answer.headers == [  # grouped in the relayed order, as `upstream.exchange` does
        ("cache-control", "no-store"),
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2; Path=/"),
        ("content-type", "application/json; charset=utf-8"),
    ]


async def test_a_204_answer_has_no_body_and_keeps_the_connection(
    pool: Http1Pool, web_server: tuple[str, Counts]
) -> None:
    url, counts = web_server
    for _ in range(2):
        answer = await exchange(pool, "DELETE", f"{url}/nothing", body=b"", headers={}, relayed=())
        assert (answer.status, answer.body) == (204, b"")
    assert len(counts.peers) == 1


async def test_connection_close_from_the_service_is_honoured(
    pool: Http1Pool, web_server: tuple[str, Counts]
) -> None:
    url, counts = web_server
    for _ in range(3):
        assert (await post(pool, f"{url}/closing")).body == b"bye"
    assert len(counts.peers) == 3


async def test_a_body_without_length_is_read_until_the_service_closes(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    counts = Counts()

    async def old_server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts.connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
        await writer.drain()
        writer.close()

    url = await raw_server(old_server)
    for _ in range(2):
        assert (await post(pool, f"{url}/")).body == b"until the end"
    assert counts.connections == 2


async def test_a_pooled_connection_the_service_drops_unanswered_is_retried_on_a_new_one(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    counts = Counts()
    dropped = 0

    async def idle_closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal dropped
        counts.connections += 1
        await read_request(reader)
        counts.requests += 1
        writer.write(OK)
        await writer.drain()
        # The next request begins: dropped unread and unanswered, as by an idle timeout that
        # expires just as the client reuses the connection.
        if await reader.read(1):
            dropped += 1
        writer.transport.abort()

    url = await raw_server(idle_closing)
    first = await post(pool, f"{url}/refresh")
    second = await post(pool, f"{url}/refresh")
    assert (first.status, second.status) == (200, 200)
    assert (counts.requests, dropped, counts.connections) == (2, 1, 2)


async def test_a_pooled_connection_the_service_closed_while_idle_is_not_used_again(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    counts = Counts()

    async def one_each(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts.connections += 1
        await read_request(reader)
        counts.requests += 1
        writer.write(OK)  # keep-alive announced, then closed anyway (an idle timeout)
        await writer.drain()
        writer.close()

    url = await raw_server(one_each)
    await post(pool, f"{url}/refresh")
    await asyncio.sleep(0.05)
    assert (await post(pool, f"{url}/refresh")).status == 200
    assert (counts.requests, counts.connections) == (2, 2)


async def test_a_fresh_connection_closed_after_the_request_is_broken_and_never_retried(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    counts = Counts()

    async def closing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts.connections += 1
        await read_request(reader)
        counts.requests += 1
        writer.transport.abort()

    url = await raw_server(closing)
    with pytest.raises(UpstreamBroken):
        await post(pool, f"{url}/refresh")
    assert (counts.requests, counts.connections) == (1, 1)


async def test_a_reused_connection_dropped_after_part_of_the_answer_is_broken_and_not_retried(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    counts = Counts()

    async def half(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts.connections += 1
        await read_request(reader)
        counts.requests += 1
        writer.write(OK)
        await read_request(reader)
        counts.requests += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart")
        await writer.drain()
        writer.close()

    url = await raw_server(half)
    await post(pool, f"{url}/refresh")
    with pytest.raises(UpstreamBroken):
        await post(pool, f"{url}/refresh")
    assert (counts.requests, counts.connections) == (2, 1)


async def test_a_malformed_answer_is_broken(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc")
        await reader.read()

    with pytest.raises(UpstreamBroken, match="content-length"):
        await post(pool, f"{await raw_server(garbage)}/")


async def test_an_answer_over_the_size_limit_is_broken(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (17 * 1024 * 1024))
        await reader.read()

    with pytest.raises(UpstreamBroken, match="too large"):
        await post(pool, f"{await raw_server(huge)}/")


async def test_a_refused_connection_is_an_unreachable_upstream(pool: Http1Pool) -> None:
    with pytest.raises(UpstreamUnreachable):
        await post(pool, f"http://127.0.0.1:{free_port()}/refresh")


async def test_a_slow_service_is_an_upstream_timeout_and_its_connection_is_not_reused(
    raw_server: Callable[[Handler], Awaitable[str]],
) -> None:
    counts = Counts()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counts.connections += 1
        await read_request(reader)
        await reader.read()  # never answers; ends when the client gives up

    url = await raw_server(slow)
    pool = Http1Pool(limit=2, timeout_s=0.2)
    try:
        for _ in range(2):
            with pytest.raises(UpstreamTimeout):
                await post(pool, f"{url}/refresh")
    finally:
        await pool.close()
    assert counts.connections == 2


async def test_no_more_than_limit_connections_serve_50_concurrent_requests(
    web_server: tuple[str, Counts],
) -> None:
    url, counts = web_server
    pool = Http1Pool(limit=4, timeout_s=5.0)
    try:
        answers = await asyncio.gather(*(post(pool, f"{url}/slowly") for _ in range(50)))
    finally:
        await pool.close()
    assert [answer.status for answer in answers] == [200] * 50
    assert counts.most_in_flight == 4
    assert len(counts.peers) == 4


async def test_a_request_waiting_for_a_connection_times_out_without_taking_a_slot(
    web_server: tuple[str, Counts],
) -> None:
    url, _ = web_server
    pool = Http1Pool(limit=1, timeout_s=0.01)
    try:
        outcomes = await asyncio.gather(
            *(post(pool, f"{url}/slowly") for _ in range(3)), return_exceptions=True
        )
        assert all(isinstance(outcome, UpstreamTimeout) for outcome in outcomes)
        pool.timeout_s = 5.0
        assert (await post(pool, f"{url}/echo")).status == 200
    finally:
        await pool.close()


async def test_idle_connections_are_closed_after_the_idle_timeout(
    web_server: tuple[str, Counts], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http1, "IDLE_TIMEOUT_S", 0.2)
    url, counts = web_server
    pool = Http1Pool(limit=4, timeout_s=5.0)
    try:
        await post(pool, f"{url}/echo")
        await asyncio.sleep(0.5)
        assert not pool._open  # closed by the sweep, not only skipped at the next request
        await post(pool, f"{url}/echo")
    finally:
        await pool.close()
    assert len(counts.peers) == 2


async def test_close_closes_every_connection(
    pool: Http1Pool, web_server: tuple[str, Counts]
) -> None:
    url, _ = web_server
    await asyncio.gather(*(post(pool, f"{url}/slowly") for _ in range(3)))
    assert len(pool._open) == 3
    await pool.close()
    assert not pool._open
    with pytest.raises(UpstreamUnreachable):
        await post(pool, f"{url}/echo")


def test_https_and_other_schemes_are_refused_when_the_pool_is_built() -> None:
    with pytest.raises(ValueError, match="plain http"):
        Http1Pool(limit=1, timeout_s=1.0, upstreams=["https://identity:8001"])
    with pytest.raises(ValueError, match="expected http://host"):
        Http1Pool(limit=1, timeout_s=1.0, upstreams=["http://user@identity:8001"])


@pytest.mark.parametrize(
    "headers",
    [{"x-device-id": "a\r\ncontent-length: 5"}, {"Content-Length": "5"}, {"Host": "elsewhere"}],
)
async def test_headers_that_would_reframe_the_request_are_refused_before_anything_is_sent(
    pool: Http1Pool, headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="framing"):
        await exchange(
            pool, "GET", f"http://127.0.0.1:{free_port()}/", body=b"", headers=headers, relayed=()
        )


async def test_the_request_carries_host_content_length_and_the_given_headers(
    pool: Http1Pool, raw_server: Callable[[Handler], Awaitable[str]]
) -> None:
    seen: list[bytes] = []

    async def record(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while not reader.at_eof():
            try:
                seen.append(await read_request(reader))
            except asyncio.IncompleteReadError:
                return
            writer.write(OK)

    url = await raw_server(record)
    await exchange(pool, "POST", f"{url}/a b?x=1", body=b"", headers={"x-otp": "1"}, relayed=())
    await exchange(pool, "GET", f"{url}/", body=b"", headers={}, relayed=())
    port = url.rsplit(":", 1)[1]
    assert seen == [
        f"POST /a%20b?x=1 HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nx-otp: 1\r\n"
        "content-length: 0\r\n\r\n".encode(),
        f"GET / HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\r\n".encode(),
    ]
