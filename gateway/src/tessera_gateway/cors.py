"""CORS for browser clients: exact allowed origins, credentials, and preflights answered here.

An origin not on the list gets no `Access-Control-*` header at all, on preflights and on real
requests, so the browser withholds the answer. Preflights never reach a service and need no
API key or token: the browser sends neither on them.
"""

from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = (
    "Accept-Language",
    "Authorization",
    "Content-Type",
    "X-API-Key",
    "X-App-ID",
    "X-Device-ID",
    "X-MFA-Challenge",
    "X-Request-ID",
    "x-otp",
)
EXPOSED_HEADERS = (
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
    "X-Request-ID",
)
ALLOWED_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


class CorsPolicy(msgspec.Struct, frozen=True, kw_only=True):
    origins: frozenset[str]
    """Origins exactly as browsers send them (`https://app.example.com`)."""
    max_age_s: int = 600
    """How long a browser may reuse a preflight answer."""

    def allows(self, origin: str) -> bool:
        return origin in self.origins


def parse_origins(text: str) -> frozenset[str]:
    """Comma-separated origins; ValueError for `*`, `null` or anything that is not an origin.

    `*` cannot go with credentials, and `null` is what sandboxed frames and files send.
    """
    origins: set[str] = set()
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        if entry in ("*", "null"):
            raise ValueError(f"{entry!r} is refused: credentials are allowed, list exact origins")
        origins.add(_origin(entry))
    return frozenset(origins)


def _origin(entry: str) -> str:
    try:
        parts = urlsplit(entry)
        _ = parts.port  # raises on a malformed port
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or "*" in entry
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
        or entry.endswith("?")
        or entry.endswith("#")
    ):
        raise ValueError(
            f"{entry!r} is not an origin (scheme://host[:port], no path, no trailing slash)"
        )
    # Browsers send scheme and host in lower case.
    return f"{parts.scheme}://{parts.netloc.lower()}"


def preflight_headers(policy: CorsPolicy, origin: str) -> list[tuple[bytes, bytes]]:
    """Headers answering a preflight from `origin`; none besides Vary when it is not allowed."""
    vary = [(b"vary", b"Origin")]
    if not policy.allows(origin):
        return vary
    return [
        *actual_headers(policy, origin),
        (b"access-control-allow-methods", ", ".join(ALLOWED_METHODS).encode()),
        (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
        (b"access-control-max-age", str(policy.max_age_s).encode()),
    ]


def actual_headers(policy: CorsPolicy, origin: str) -> list[tuple[bytes, bytes]]:
    """Headers added to a real answer for `origin`; none besides Vary when it is not allowed."""
    vary = [(b"vary", b"Origin")]
    if not policy.allows(origin):
        return vary
    return [
        *vary,
        (b"access-control-allow-origin", origin.encode("latin-1")),
        (b"access-control-allow-credentials", b"true"),
        (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()),
    ]


def _origin_of(scope: Scope) -> str | None:
    values = [value for key, value in scope["headers"] if key == b"origin"]
    # Two Origin headers are no browser's doing: treat as no allowed origin.
    return values[0].decode("latin-1") if len(values) == 1 else None


def _is_preflight(scope: Scope) -> bool:
    return scope.get("method") == "OPTIONS" and any(
        key == b"access-control-request-method" for key, _ in scope["headers"]
    )


def _without_cors(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if not k.lower().startswith(b"access-control-")]


def cors_middleware(policy: CorsPolicy) -> Callable[[ASGIApp], ASGIApp]:
    """Wraps an ASGI app: answers preflights itself, adds `policy`'s headers to other answers."""

    def wrap(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            origin = _origin_of(scope)
            if _is_preflight(scope):
                headers = [(b"content-length", b"0")]
                if origin is not None:
                    headers += preflight_headers(policy, origin)
                await send({"type": "http.response.start", "status": 204, "headers": headers})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if origin is None:
                await app(scope, receive, send)
                return

            async def send_with_cors(message: Message) -> None:
                if message["type"] == "http.response.start":
                    # Only this policy decides CORS, never a header that came from elsewhere.
                    headers = _without_cors(message.get("headers", []))
                    message["headers"] = [*headers, *actual_headers(policy, origin)]
                await send(message)

            await app(scope, receive, send_with_cors)

        return middleware

    return wrap
