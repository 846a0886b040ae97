"""`Allow` on OPTIONS answers lists every method of the path.

litestar (2.25) answers OPTIONS from one route's handlers: where two handlers serve one path
(`GET` and `POST /auth/otp/code`), it lists only the first one's methods.
"""

from collections.abc import Mapping

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.routes import HTTPRoute
from litestar.types import ASGIApp, Message, Receive, Scope, Send


def methods_by_path(app: Litestar) -> dict[str, str]:
    """The `Allow` value (every method, OPTIONS included) of each path template of `app`.

    Left out: a path whose handler answers OPTIONS itself along with other methods (the
    gateway's proxy relays the service's answer).
    """
    methods: dict[str, set[str]] = {}
    own: set[str] = set()
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            path = route.path_format or "/"
            methods.setdefault(path, {"OPTIONS"}).update(route.methods)
            if any(
                "OPTIONS" in h.http_methods and len(h.http_methods) > 1
                for h in route.route_handlers
            ):
                own.add(path)
    return {path: ", ".join(sorted(names)) for path, names in methods.items() if path not in own}


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
