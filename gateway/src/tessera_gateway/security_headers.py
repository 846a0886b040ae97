"""Headers every gateway answer carries, so browsers neither sniff, frame, refer nor cache it.

Nor run anything from it: answers are JSON, so their Content-Security-Policy allows nothing; the
docs page gets the one its Redoc needs (`tessera_shared.http.docs.POLICY`), its own origin only.
"""

from collections.abc import Callable

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tessera_gateway.client_ip import TrustedProxies, scheme_in_scope
from tessera_gateway.openapi import DOCS_PATH
from tessera_gateway.routes import checks_of
from tessera_shared.http import docs

ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
NO_FRAMES = "frame-ancestors 'none'"
CSP = (b"content-security-policy", f"default-src 'none'; {NO_FRAMES}".encode())
DOCS_CSP = (b"content-security-policy", f"{docs.POLICY}; {NO_FRAMES}".encode())
DOCS_PAGES = frozenset((DOCS_PATH, f"{DOCS_PATH}/"))
NO_STORE = (b"cache-control", b"no-store")
HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")


def is_auth_path(path: str) -> bool:
    """Whether answers on `path` must not be stored by any cache (its Route's cache policy).

    Also where the gateway answers itself (a preflight, a 404 of a path it does not forward).
    """
    route = checks_of(path)
    return route is not None and route.cache == "no-store"


def security_headers(
    path: str, scheme: str, existing: list[tuple[bytes, bytes]]
) -> list[tuple[bytes, bytes]]:
    """`existing` answer headers with ours set (replacing the same names)."""
    ours = [*ALWAYS, DOCS_CSP if path in DOCS_PAGES else CSP]
    if is_auth_path(path):
        ours.append(NO_STORE)
    if scheme == "https":
        # Only a browser that reached us over HTTPS honours it; over HTTP it would be a lie.
        ours.append(HSTS)
    names = {name for name, _ in ours}
    return [(k, v) for k, v in existing if k.lower() not in names] + ours


def security_headers_middleware(trusted: TrustedProxies) -> Callable[[ASGIApp], ASGIApp]:
    """Wraps an ASGI app so every HTTP answer gets `security_headers`."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            path = scope["path"]
            scheme = scheme_in_scope(scope, trusted)

            async def send_with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    existing = list(message.get("headers", []))
                    message["headers"] = security_headers(path, scheme, existing)
                await send(message)

            await app(scope, receive, send_with_headers)

        return middleware

    return wrap
