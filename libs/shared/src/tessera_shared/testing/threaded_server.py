"""An aiohttp server on its own thread and event loop, for stand-ins of services in tests.

Litestar's test client blocks the test's event loop while the app handles a request, so a
stand-in the app calls must run elsewhere, or it could never answer.
"""

import asyncio
import threading

from aiohttp import web

from tessera_shared.devservers.ports import LOOPBACK, free_port


class ThreadedServer:
    """Subclasses add their routes in `routes`; `start()` and `stop()` are thread-safe."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://{LOOPBACK}:{self.port}"
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def before_stop(self) -> None:
        """Release whatever handlers may be waiting on (runs on the test's thread)."""

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self.loop).result(10)

    def stop(self) -> None:
        self.before_stop()
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, LOOPBACK, self.port).start()
