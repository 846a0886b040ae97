"""The HTTP side (aiohttp.web): the page, the JSON API and the SMS webhook."""

import base64
import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files

import msgspec
from aiohttp import web

from tessera_shared.devinbox.store import Message, Store

ENCODER = msgspec.json.Encoder()


class SmsWebhook(msgspec.Struct, frozen=True, kw_only=True):
    """otp-delivery's webhook body (`TESSERA_OTP_SMS_WEBHOOK_BODY`); other fields are ignored."""

    to: str
    text: str
    purpose: str = ""


_SMS_DECODER = msgspec.json.Decoder(SmsWebhook)
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.DOTALL)


def _page() -> tuple[bytes, str]:
    """The page and its Content-Security-Policy, which admits exactly its own inline blocks."""
    page = files("tessera_shared.devinbox").joinpath("page.html").read_text(encoding="utf-8")
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in _INLINE.findall(page):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[tag].append(f"'sha256-{digest}'")
    policy = "; ".join(
        [
            "default-src 'none'",
            f"script-src {' '.join(hashes['script'])}",
            f"style-src-elem {' '.join(hashes['style'])}",
            # The sandboxed email bodies inherit this policy; their style attributes are harmless.
            "style-src-attr 'unsafe-inline'",
            "img-src data:",
            "connect-src 'self'",
            "frame-src 'none'",  # the bodies are srcdoc frames: no URL is ever framed
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return page.encode(), policy


def create_app(store: Store, received: Callable[[Message], None]) -> web.Application:
    page, policy = _page()

    async def index(request: web.Request) -> web.Response:
        return web.Response(
            body=page,
            content_type="text/html",
            charset="utf-8",
            headers={
                "Content-Security-Policy": policy,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    async def list_messages(request: web.Request) -> web.Response:
        found = store.messages(to=request.query.get("to"))
        return _json(ENCODER.encode(found))

    async def clear(request: web.Request) -> web.Response:
        store.clear()
        return web.Response(status=204)

    async def receive_sms(request: web.Request) -> web.Response:
        # JSON only: a cross-site form cannot send it without a preflight this server never grants.
        if request.content_type != "application/json":
            return _error(415, "send application/json")
        try:
            sms = _SMS_DECODER.decode(await request.read())
        except msgspec.DecodeError as exc:
            return _error(400, str(exc))
        message = store.add(
            channel="sms",
            to=sms.to,
            text=sms.text,
            purpose=sms.purpose,
            received_at=datetime.now(UTC),
        )
        received(message)
        return _json(ENCODER.encode({"id": message.id}), status=201)

    async def health(request: web.Request) -> web.Response:
        return _json(b'{"status":"ok"}')

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/api/messages", list_messages)
    app.router.add_delete("/api/messages", clear)
    app.router.add_post("/sms", receive_sms)
    app.router.add_get("/health", health)
    return app


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        body=body,
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )


def _error(status: int, detail: str) -> web.Response:
    return _json(ENCODER.encode({"error": detail}), status=status)
