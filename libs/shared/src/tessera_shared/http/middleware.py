"""Request ids: accepted from the caller when sane, created otherwise, echoed in the answer."""

import logging
import re
import secrets
import time

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from tessera_shared.context import request_id_var

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
access_log = logging.getLogger("tessera.access")


def incoming_request_id(raw: bytes | None) -> str:
    """Keep a caller's X-Request-ID if it is short and plain, else make a new one: 32 random
    hex digits (as `uuid4().hex` gave, whose object construction cost ~5 % of a gateway request)."""
    if raw:
        text = raw.decode("latin-1")
        if _SAFE_ID.match(text):
            return text
    return secrets.token_hex(16)


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        method = scope.get("method", "")
        headers = dict(scope["headers"])
        request_id = incoming_request_id(headers.get(b"x-request-id"))
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await app(scope, receive, send_with_id)
        finally:
            if not scope["path"].startswith("/health/"):
                access_log.info(
                    "%s %s %s",
                    method,
                    scope["path"],
                    status,
                    extra={
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)

    return middleware
