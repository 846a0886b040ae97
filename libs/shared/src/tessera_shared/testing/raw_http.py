"""An app served by granian in the test's own event loop, and raw bytes sent to it over TCP.

The test client hands bodies to the app without a server in between; bad bytes are best
tested as a client sends them, through the server the parts run under.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from granian.constants import Interfaces
from granian.server.embed import Server
from litestar.types import ASGIApp

from tessera_shared.devservers.ports import LOOPBACK, free_port


class RawAnswer:
    """An HTTP/1.1 answer as read from the socket."""

    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }

    def json(self) -> Any:
        return json.loads(self.body)


@contextlib.asynccontextmanager
async def served(app: ASGIApp) -> AsyncIterator[int]:
    """`app` (lifespan included) under granian on a free loopback port; yields the port."""
    port = free_port()
    logging.getLogger("_granian").setLevel(logging.ERROR)  # "embedded server is experimental"
    server = Server(app, address=LOOPBACK, port=port, interface=Interfaces.ASGI)
    serving = asyncio.create_task(server.serve())
    try:
        await _until_listening(port, serving)
        yield port
    finally:
        server.stop()  # type: ignore[no-untyped-call]  # granian ships no annotations here
        await asyncio.wait_for(serving, 30)


async def _until_listening(port: int, serving: "asyncio.Task[None]") -> None:
    async with asyncio.timeout(30):
        while True:
            if serving.done():
                serving.result()  # raises what stopped the server
                raise RuntimeError("granian stopped before it listened")
            try:
                answer = await request_raw(port, "GET", "/health/live", b"")
            except OSError:
                await asyncio.sleep(0.05)
                continue
            if answer.status == 200:
                return


async def request_raw(
    port: int,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> RawAnswer:
    """Sends `body` byte for byte (`Connection: close`) and reads the whole answer."""
    head = [f"{method} {path} HTTP/1.1", "Host: tessera", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    head.append("Connection: close")
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    try:
        writer.write("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
        await writer.drain()
        return RawAnswer(await reader.read())
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
