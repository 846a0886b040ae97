"""Reading request bodies at the protocol level, so a slow, huge or abandoned body costs little.

- A body must be complete within a deadline from its first read: else `408 request_timeout`
  (slowloris: `Content-Length: 100` and 2 bytes sent would otherwise hold a task for ever).
- A client leaving before its body is complete raises `ClientDisconnectedError`: an info line
  and status 499 (nginx's "client closed request"), not an error with a traceback and a 500.
- An answer sent before the body was read (413, 401, 429…) first drains the rest of it, up to
  `DRAIN_LIMIT_BYTES` and the deadline: closing a socket with unread data makes the kernel send
  a reset, which destroys the answer before the client reads it. A body not drained to its end
  gets `Connection: close` (HTTP/1; HTTP/2 ends the stream instead).
- Except when the client sent `Expect: 100-continue` and nothing was read yet: it waits for the
  server's go-ahead before sending the body, so answering at once costs nothing, while reading
  would make the server send `100 Continue` and invite the body.
"""

import asyncio
from collections.abc import Awaitable, Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, ReceiveMessage, Scope, Send

from tessera_shared.errors import Code, TesseraError

DRAIN_LIMIT_BYTES = 4 * 1024 * 1024
"""Most bytes read and dropped after an early answer; a 1 MB upload still reads its 413."""


class ClientDisconnectedError(Exception):
    """The client closed the connection before its request body was complete."""


class _Body:
    """The body of one request as the app reads it, with the deadline and the drain."""

    def __init__(self, scope: Scope, receive: Receive, timeout_s: float) -> None:
        self._receive = receive
        self._timeout_s = timeout_s
        self._deadline: float | None = None
        self._http1 = scope.get("http_version") in ("1.0", "1.1")
        self._expects_continue = any(
            name == b"expect" and value.lower() == b"100-continue"
            for name, value in scope["headers"]
        )
        self.complete = False
        self.gone = False

    async def receive(self) -> ReceiveMessage:
        if self.complete or self.gone:
            return await self._receive()
        message = await self._next()
        if message is None:
            raise TesseraError(Code.REQUEST_TIMEOUT)
        if self.gone:
            raise ClientDisconnectedError
        return message

    async def _next(self) -> ReceiveMessage | None:
        """The next message of the body; None when the deadline passed first."""
        loop = asyncio.get_running_loop()
        if self._deadline is None:
            self._deadline = loop.time() + self._timeout_s
        try:
            async with asyncio.timeout_at(self._deadline):
                message = await self._receive()
        except TimeoutError:
            return None
        if message["type"] == "http.disconnect":
            self.gone = True
        elif not message.get("more_body", False):
            self.complete = True
        return message

    async def drain(self) -> None:
        if self._expects_continue and self._deadline is None:
            return  # nothing read: the client still waits for `100 Continue`
        drained = 0
        while not (self.complete or self.gone) and drained <= DRAIN_LIMIT_BYTES:
            message = await self._next()
            if message is None:
                return
            if message["type"] == "http.request":
                drained += len(message["body"])

    def sending(self, send: Send) -> Callable[[Message], Awaitable[None]]:
        async def send_after_drain(message: Message) -> None:
            if message["type"] == "http.response.start" and not (self.complete or self.gone):
                await self.drain()
                if self._http1 and not (self.complete or self.gone):
                    headers = [*message.get("headers", []), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        return send_after_drain


def has_body(scope: Scope) -> bool:
    """Whether the request may carry a body. HTTP/1 without `Transfer-Encoding` and without a
    non-zero `Content-Length` has none (RFC 9112 §6.3), so most GETs skip the guard's reading;
    HTTP/2 may send a body with neither header."""
    if scope.get("http_version") not in ("1.0", "1.1"):
        return True
    for name, value in scope["headers"]:
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() != b"0"
    return False


def body_guard(timeout_s: float) -> Callable[[ASGIApp], ASGIApp]:
    """Wraps an app so every request body is read as the module says, within `timeout_s`."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP or not has_body(scope):
                await app(scope, receive, send)
                return
            body = _Body(scope, receive, timeout_s)
            await app(scope, body.receive, body.sending(send))

        return guarded

    return wrap
