"""A real HTTP server on 127.0.0.1 that records requests (stands in for an SMS provider).

Runs on its own thread and event loop, so it keeps answering while a test's loop is blocked.
"""

import asyncio
import threading
import time

import msgspec
from aiohttp import web

from tessera_shared.devservers.ports import LOOPBACK, free_port


class Received(msgspec.Struct, frozen=True):
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    form: dict[str, str]


class HttpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.status = 200
        """Status to answer with; set 500 to make the provider fail."""
        self.delay_s = 0.0
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def wait_for(self, count: int = 1, within: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + within
        with self._changed:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.received)} of {count} requests within {within}s")
                self._changed.wait(left)
            return list(self.received)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._record)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()

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
