"""`Allow` on OPTIONS answers lists every method of the path.

litestar (2.25) answers OPTIONS from one route's handlers: where two handlers serve one path
(`GET` and `PATCH /v1/users/me`), it lists only one's methods.
"""

from collections.abc import Mapping

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def methods_by_path(app: Litestar) -> dict[str, str]:
    """Each path template of `app` and its `Allow` value (every method, OPTIONS included)."""
    methods: dict[str, set[str]] = {}
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            methods.setdefault(route.path_format or "/", {"OPTIONS"}).update(route.methods)
    return {path: ", ".join(sorted(names)) for path, names in methods.items()}


def allow_middleware(handler: ASGIApp, allow: Mapping[str, str]) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("method") != "OPTIONS":
            await handler(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            template = scope.get("path_template")
            if message["type"] == "http.response.start" and template in allow:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                headers.append((b"allow", allow[template].encode()))
                message = {**message, "headers": headers}
            await send(message)

        await handler(scope, receive, send_with_allow)

    return middleware
