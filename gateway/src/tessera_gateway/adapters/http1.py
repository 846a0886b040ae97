"""Pooled keep-alive HTTP/1.1 to the services over an asyncio Protocol (performance issue 16).

Why: aiohttp's client was the largest single cost of a proxied request. The services are
internal, speak plain HTTP and answer small bodies, so one buffer written per request and the
answer parsed in `data_received` do the job with far less Python. The pool keeps `upstream`'s
rules: idle connections dropped after `IDLE_TIMEOUT_S`, and a request sent once more only when
a reused connection was closed unanswered (`exchange`).

For the proxy: `UpstreamTimeout` → 504, `UpstreamUnreachable` → 503, `UpstreamBroken` → 502.
"""

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import cast
from urllib.parse import quote, urlsplit

from tessera_gateway.adapters.upstream import IDLE_TIMEOUT_S, Answer
from tessera_gateway.config import GatewaySettings

log = logging.getLogger("tessera.gateway.http1")

CONNECT_TIMEOUT_S = 2.0
MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
"""Larger answers are refused: no service's answer comes near, so a bigger one is a fault."""

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
"""Written by the client itself: given ones could frame the request otherwise than meant."""
_SAFE = "/?:@!$&'()*+,;=%[]"
_UNSAFE = re.compile(r"[^A-Za-z0-9\-._~/?:@!$&'()*+,;=%\[\]]")
_HEAD, _LENGTH, _CHUNKED, _UNTIL_CLOSE, _DONE = range(5)
Lookup = dict[bytes, tuple[int, str | None]]


class UpstreamTimeout(TimeoutError):  # noqa: N818 - named as the proxy's mapping reads
    """No connection, or no whole answer, before the deadline."""


class UpstreamUnreachable(ConnectionError):  # noqa: N818
    """No connection could be made: the request was never sent."""


class UpstreamBroken(Exception):  # noqa: N818
    """A malformed answer, or the connection dropped before the answer was whole."""


class _Unanswered(UpstreamBroken):
    """Closed before a byte of the answer; on a reused connection the request was never read."""

    reused = False


@functools.cache
def _lookup(relayed: tuple[str, ...]) -> Lookup:
    """The header names the parser looks at: (rank, name) of relayed ones, (-1, None) else."""
    table: Lookup = dict.fromkeys(
        (b"content-length", b"transfer-encoding", b"connection"), (-1, None)
    )
    for rank, name in enumerate(name.lower() for name in relayed):
        table[name.encode("latin-1")] = (rank, name)
    return table


class _Connection(asyncio.Protocol):
    """One keep-alive connection; parses the answer to its one request in flight as it arrives."""

    def __init__(self, forget: Callable[["_Connection"], None]) -> None:
        self.forget = forget
        self.transport: asyncio.Transport | None = None
        self.closed = self.keep = self._head_only = self._got_bytes = False
        self.idle_since = 0.0
        self._buffer = bytearray()
        self._answer: asyncio.Future[Answer] | None = None
        self._lookup: Lookup = {}
        self._mode = _DONE
        self._status = self._left = self._size = 0
        self._headers: list[tuple[str, str]] = []
        self._chunks: list[bytes] = []

    def send(self, request: bytes, head_only: bool, lookup: Lookup) -> "asyncio.Future[Answer]":
        """Writes `request`; the future settles with the whole answer or an `UpstreamBroken`."""
        self._answer = answer = asyncio.get_running_loop().create_future()
        self._head_only, self._lookup, self._got_bytes = head_only, lookup, False
        self._mode, self.keep = _HEAD, True
        if self.closed or self.transport is None:  # dropped before its first use
            self._settle(_Unanswered("connection closed before the request"))
        else:
            self.transport.write(request)
        return answer

    def close(self, abort: bool = False) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort() if abort else self.transport.close()

    def time_out(self) -> None:
        self._settle(UpstreamTimeout("no whole answer before the deadline"))
        self.close(abort=True)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._answer is None:  # bytes nobody asked for: the framing can't be trusted
            self.close(abort=True)
            return
        self._got_bytes = True
        self._buffer += data
        try:
            body = self._parse()
        except UpstreamBroken as exc:
            self._settle(exc)
            self.close(abort=True)
            return
        if body is not None:
            self._settle(Answer(status=self._status, body=body, headers=self._headers))

    def eof_received(self) -> bool:
        return False  # close our side too; `connection_lost` settles the answer

    def connection_lost(self, exc: Exception | None) -> None:
        by_us, self.closed = self.closed, True
        self.forget(self)
        if self._answer is None:
            return
        if self._mode == _UNTIL_CLOSE and exc is None and not by_us:
            self.keep = False
            self._settle(
                Answer(status=self._status, body=bytes(self._buffer), headers=self._headers)
            )
        elif not self._got_bytes:
            self._settle(_Unanswered(f"connection closed before any answer ({exc or 'EOF'})"))
        else:
            self._settle(UpstreamBroken(f"connection dropped mid-answer ({exc or 'EOF'})"))

    def _settle(self, outcome: Answer | Exception) -> None:
        answer, self._answer, self._mode = self._answer, None, _DONE
        if answer is None or answer.done():  # cancelled: nobody waits for it any more
            return
        if isinstance(outcome, Answer):
            answer.set_result(outcome)
        else:
            answer.set_exception(outcome)

    def _parse(self) -> bytes | None:
        """The whole body once it arrived, else None; raises `UpstreamBroken`."""
        buffer = self._buffer
        while self._mode == _HEAD:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise UpstreamBroken("answer head too large")
                return None
            head = bytes(buffer[:end])
            del buffer[: end + 4]
            self._read_head(head)
        if self._mode == _LENGTH:
            if len(buffer) < self._left:
                return None
            body = bytes(buffer[: self._left])
            del buffer[: self._left]
        elif self._mode == _CHUNKED:
            if (chunked := self._read_chunks()) is None:
                return None
            body = chunked
        elif self._mode == _UNTIL_CLOSE:
            if len(buffer) > MAX_BODY_BYTES:
                raise UpstreamBroken("answer too large")
            return None
        else:
            body = b""
        if buffer:  # bytes beyond the answer: nothing was asked for them
            self.keep = False
            buffer.clear()
        return body

    def _read_head(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        version, _, rest = lines[0].partition(b" ")
        code = rest[:3]
        if version not in (b"HTTP/1.1", b"HTTP/1.0") or not code.isdigit() or rest[3:4].strip():
            raise UpstreamBroken(f"malformed status line {lines[0][:80]!r}")
        status = int(code)
        if status < 200:  # 1xx: informational, the real answer follows (never an upgrade)
            if status == 101 or status < 100:
                raise UpstreamBroken(f"unexpected status {status}")
            return
        lookup = self._lookup
        kept: list[tuple[str, str]] = []
        length: bytes | None = None
        chunked = encoded = close = alive = unordered = False
        last = -1
        for line in lines[1:]:
            name, colon, value = line.partition(b":")
            if (found := lookup.get(name := name.lower())) is None:
                if not colon:
                    raise UpstreamBroken(f"malformed header line {line[:80]!r}")
                continue
            rank, relayed = found
            if relayed is not None:
                kept.append((relayed, value.strip(b" \t").decode("latin-1")))
                unordered, last = unordered or rank < last, rank
            if name == b"content-length":
                value = value.strip(b" \t")
                if not value.isdigit() or (length is not None and value != length):
                    raise UpstreamBroken(f"bad content-length {value[:40]!r}")
                length = value
            elif name == b"transfer-encoding":
                encoded = True
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
            elif name == b"connection":
                tokens = {token.strip() for token in value.lower().split(b",")}
                close, alive = close or b"close" in tokens, alive or b"keep-alive" in tokens
        if unordered:  # grouped by relayed name, in the relayed order, as `upstream` does
            kept.sort(key=lambda pair: lookup[pair[0].encode("latin-1")][0])
        self._status, self._headers = status, kept
        self.keep = not close and (version == b"HTTP/1.1" or alive)
        if self._head_only or status in (204, 304):
            self._mode = _DONE
        elif encoded:  # with a content-length too: smuggling or a fault, so never reused
            self.keep = self.keep and chunked and length is None
            self._mode = _CHUNKED if chunked else _UNTIL_CLOSE
            self._left, self._size, self._chunks = 0, 0, []
        elif length is not None:
            self._mode, self._left = _LENGTH, int(length)
            if self._left > MAX_BODY_BYTES:
                raise UpstreamBroken("answer too large")
        else:
            self._mode, self.keep = _UNTIL_CLOSE, False

    def _read_chunks(self) -> bytes | None:
        """`_left`: 0 before a size line, -1 in the trailers, else the chunk's bytes + CRLF."""
        buffer = self._buffer
        while True:
            if self._left > 0:
                if len(buffer) < self._left:
                    return None
                if buffer[self._left - 2 : self._left] != b"\r\n":
                    raise UpstreamBroken("malformed chunk")
                self._chunks.append(bytes(buffer[: self._left - 2]))
                del buffer[: self._left]
                self._left = 0
                continue
            end = buffer.find(b"\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise UpstreamBroken("chunk line too long")
                return None
            line = bytes(buffer[:end])
            del buffer[: end + 2]
            if self._left < 0:  # trailers, ignored, up to the empty line
                if not line:
                    return b"".join(self._chunks)
                continue
            size = line.split(b";", 1)[0].strip()
            if not size or size.strip(b"0123456789abcdefABCDEF"):
                raise UpstreamBroken(f"bad chunk size {size[:20]!r}")
            self._left = int(size, 16) + 2 if size.strip(b"0") else -1
            self._size += self._left
            if self._size > MAX_BODY_BYTES:
                raise UpstreamBroken("answer too large")


class _Upstream:
    """One (host, port): its idle connections (the newest last) and its slots."""

    def __init__(self, host: str, port: int, authority: str, limit: int) -> None:
        self.host, self.port, self.authority = host, port, authority
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(limit)


class Http1Pool:
    """Keep-alive connections, at most `limit` per upstream; built and closed in the lifespan.

    `upstreams`: base URLs checked here (an https:// one is refused at start-up, not at the
    first request); other http:// upstreams are added at their first request.
    """

    def __init__(self, *, limit: int, timeout_s: float, upstreams: Iterable[str] = ()) -> None:
        if limit < 1 or timeout_s <= 0:
            raise ValueError("limit must be >= 1 and timeout_s > 0")
        self.limit, self.timeout_s = limit, timeout_s
        self._upstreams: dict[str, _Upstream] = {}
        self._open: set[_Connection] = set()
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False
        for url in upstreams:
            self._upstream_of(url)

    def _upstream_of(self, url: str) -> tuple[_Upstream, str]:
        """The upstream of `url` (http://host[:port]/path[?query]) and its request target."""
        scheme, _, rest = url.partition("://")
        authority, _, path = rest.partition("/")
        upstream = self._upstreams.get(authority)
        if upstream is None or scheme != "http":
            parts = urlsplit(f"http://{authority}")
            if scheme.lower() != "http":
                raise ValueError(f"{url!r}: plain http:// only (the services are internal)")
            if parts.netloc != authority or not parts.hostname or parts.username is not None:
                raise ValueError(f"{url!r}: expected http://host[:port]/path")
            upstream = self._upstreams.setdefault(
                authority, _Upstream(parts.hostname, parts.port or 80, authority, self.limit)
            )
        target = "/" + path
        return upstream, quote(target, safe=_SAFE) if _UNSAFE.search(target) else target

    async def _send(
        self, upstream: _Upstream, request: bytes, lookup: Lookup, deadline: float, fresh: bool
    ) -> Answer:
        """One try, on an idle connection unless `fresh`, holding one of the upstream's slots."""
        if self._closed:
            raise UpstreamUnreachable("the upstream pool is closed")
        if not upstream.slots.locked():
            await upstream.slots.acquire()  # free: no wait
        else:
            try:
                async with asyncio.timeout_at(deadline):
                    await upstream.slots.acquire()
            except TimeoutError:
                raise UpstreamTimeout("no free connection before the deadline") from None
        connection, reused = None, False
        try:
            if not fresh and (connection := self._idle(upstream)) is not None:
                reused = True
            else:
                connection = await self._connect(upstream, deadline)
            loop = asyncio.get_running_loop()
            timer = loop.call_at(deadline, connection.time_out)
            try:
                answer = await connection.send(request, request.startswith(b"HEAD "), lookup)
            finally:
                timer.cancel()
            if connection.keep and not connection.closed and not self._closed:
                connection.idle_since = loop.time()
                upstream.idle.append(connection)
                if self._sweeper is None:
                    self._sweeper = loop.call_later(IDLE_TIMEOUT_S / 10, self._sweep)
            else:
                connection.close()
            return answer
        except BaseException as exc:
            if connection is not None:
                connection.close(abort=True)
            if isinstance(exc, _Unanswered):
                exc.reused = reused
            raise
        finally:
            upstream.slots.release()

    def _idle(self, upstream: _Upstream) -> _Connection | None:
        idle = upstream.idle
        while idle:
            connection = idle.pop()
            if connection.closed:
                continue
            if asyncio.get_running_loop().time() - connection.idle_since < IDLE_TIMEOUT_S:
                return connection
            for stale in (connection, *idle):  # the newest is too old: all are
                stale.close()
            idle.clear()
        return None

    async def _connect(self, upstream: _Upstream, deadline: float) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout_at(min(deadline, loop.time() + CONNECT_TIMEOUT_S)):
                _, connection = await loop.create_connection(
                    lambda: _Connection(self._open.discard), upstream.host, upstream.port
                )
        except TimeoutError:
            raise UpstreamTimeout(f"no connection to {upstream.authority} in time") from None
        except OSError as exc:
            raise UpstreamUnreachable(f"cannot connect to {upstream.authority}: {exc}") from exc
        if not connection.closed:
            self._open.add(connection)
        return connection

    def _sweep(self) -> None:
        """Closes connections idle for `IDLE_TIMEOUT_S`, before a service would close them."""
        loop = asyncio.get_running_loop()
        cutoff = loop.time() - IDLE_TIMEOUT_S
        for upstream in self._upstreams.values():
            for connection in upstream.idle:
                if connection.idle_since <= cutoff:
                    connection.close()
            upstream.idle[:] = [c for c in upstream.idle if not c.closed]
        idle = any(upstream.idle for upstream in self._upstreams.values())
        self._sweeper = loop.call_later(IDLE_TIMEOUT_S / 10, self._sweep) if idle else None

    async def close(self) -> None:
        """Closes every connection; requests in flight end with `UpstreamBroken`."""
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for connection in list(self._open):
            connection.close()
        for upstream in self._upstreams.values():
            upstream.idle.clear()
        await asyncio.sleep(0)  # lets the transports call `connection_lost`


def make_pool(settings: GatewaySettings) -> Http1Pool:
    """`upstream.make_client`'s counterpart (its limit is per upstream, aiohttp's in all)."""
    return Http1Pool(
        limit=settings.upstream_connections,
        timeout_s=settings.upstream_timeout_s,
        upstreams=(settings.identity_url, settings.session_url),
    )


async def exchange(
    pool: Http1Pool,
    method: str,
    url: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    relayed: Sequence[str],
) -> Answer:
    """Send one request and read the whole answer: `upstream.exchange`'s contract and retry.

    Sent a second time, on a new connection, only when the first try went out on a reused
    pooled connection that the service closed before a byte of the answer (why that is safe:
    `upstream.exchange`). Raises `UpstreamTimeout`, `UpstreamUnreachable`, `UpstreamBroken`;
    ValueError for a request it will not write (CR/LF in headers, framing headers given).
    """
    upstream, target = pool._upstream_of(url)
    request = _request(method, target, upstream.authority, body, headers)
    lookup = _lookup(tuple(relayed))
    deadline = asyncio.get_running_loop().time() + pool.timeout_s
    try:
        try:
            return await pool._send(upstream, request, lookup, deadline, fresh=False)
        except _Unanswered as exc:
            if not exc.reused:
                raise
            path = target.partition("?")[0]  # not the query: it may carry secrets
            log.info("%s %s: pooled connection closed unanswered, sent again", method, path)
        return await pool._send(upstream, request, lookup, deadline, fresh=True)
    except UpstreamTimeout as exc:
        raise UpstreamTimeout(f"{method} {target.partition('?')[0]}: {exc}") from None


def _request(
    method: str, target: str, authority: str, body: bytes, headers: Mapping[str, str]
) -> bytes:
    """The request's bytes; refuses what would frame it otherwise than meant."""
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers.items()])
    if (
        not (method.isascii() and method.isalpha())
        or lines.count("\n") != len(headers)
        or lines.count("\r") != len(headers)
        or not _FRAMING.isdisjoint(map(str.lower, headers))
    ):
        raise ValueError("a method or headers that would break the request's framing")
    length = f"content-length: {len(body)}\r\n" if body or method in _BODY_METHODS else ""
    head = f"{method} {target} HTTP/1.1\r\nhost: {authority}\r\n{lines}{length}\r\n"
    return head.encode("latin-1") + body
