"""A stand-in for the session service's internal revocation and session-list endpoints, on its
own thread.

Identity calls it while the test's loop waits for identity's answer, so it must run elsewhere
(see `ThreadedServer`). It records every call; `mode` makes it fail or hang.
"""

import asyncio
from typing import Any, Literal

import msgspec
from aiohttp import web

from tessera_shared.testing.threaded_server import ThreadedServer

REVOKE_PATH = "/internal/v1/sessions/revoke"
LIST_PATH = "/internal/v1/sessions/list"


class Revocation(msgspec.Struct, frozen=True):
    headers: dict[str, str]
    """Lower-case names."""
    body: dict[str, Any]


class StandInSession(ThreadedServer):
    """`mode`: "ok" answers `{"revoked": revoked}`, "fail" answers 500, "hang" answers only when
    stopped. Only calls with `token` in X-Internal-Token are accepted (else 401)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token
        self.mode: Literal["ok", "fail", "hang"] = "ok"
        self.revoked = 2
        self.calls: list[Revocation] = []
        self.listed: list[dict[str, Any]] = []
        """The sessions the list endpoint answers for any user."""
        self._released = asyncio.Event()

    def before_stop(self) -> None:
        self.loop.call_soon_threadsafe(self._released.set)

    def routes(self, app: web.Application) -> None:
        app.router.add_post(REVOKE_PATH, self._revoke)
        app.router.add_post(LIST_PATH, self._list)

    async def _list(self, request: web.Request) -> web.Response:
        if request.headers.get("x-internal-token") != self.token or self.mode != "ok":
            return web.json_response({"code": "unauthorized"}, status=401)
        return web.json_response({"sessions": self.listed})

    async def _revoke(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        self.calls.append(Revocation({k.lower(): v for k, v in request.headers.items()}, body))
        if self.mode == "hang":
            await self._released.wait()
        if self.mode == "fail":
            return web.json_response({"code": "internal_error"}, status=500)
        if request.headers.get("x-internal-token") != self.token:
            return web.json_response({"code": "unauthorized"}, status=401)
        return web.json_response({"revoked": self.revoked})
