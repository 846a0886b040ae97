"""A real HTTP server on 127.0.0.1 that records requests (stands in for an SMS provider).

Runs on its own thread and event loop, so it keeps answering while a test's loop is blocked.
"""

import asyncio
import threading
import time

import msgspec
from aiohttp import web

from tessera_shared.testing.threaded_server import ThreadedServer


class Received(msgspec.Struct, frozen=True):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]


class HttpSink(ThreadedServer):
    def __init__(self) -> None:
        super().__init__()
        self.status = 200
        """Status to answer with; set 500 to make the provider fail."""
        self.delay_s = 0.0
        self.received: list[Received] = []
        self._changed = threading.Condition()

    def wait_for(self, count: int = 1, within: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + within
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} requests within {within}s")
                self._changed.wait(left)
            return list(self.received)

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{tail:.*}", self._record)

    async def _record(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay_s)
        body = await request.read()
        form: dict[str, str] = {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = {k: str(v) for k, v in (await request.post()).items()}
        if self.status < 300:
            with self._changed:
                self.received.append(
                    Received(request.method, request.path, dict(request.headers), body, form)
                )
                self._changed.notify_all()
        return web.json_response({"ok": self.status < 300}, status=self.status)
