"""The body guard against a fake server: deadline, disconnect, and the drain before an answer."""

import asyncio
import time

from tessera_shared.errors import TesseraError
from tessera_shared.http.body_guard import (
    DRAIN_LIMIT_BYTES,
    ClientDisconnectedError,
    body_guard,
    has_body,
)

CHUNK = 64 * 1024
SCOPE = {
    "type": "http",
    "http_version": "1.1",
    "method": "POST",
    "path": "/x",
    "headers": [(b"transfer-encoding", b"chunked")],
}


class Client:
    """What a server hands the app: `chunks` of the body, then silence or a disconnect."""

    def __init__(self, chunks: int, *, then: str = "wait", endless: bool = False) -> None:
        self.left = chunks
        self.then = then
        self.endless = endless
        self.read = 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        if self.endless or self.left > 0:
            self.left -= 1
            self.read += CHUNK
            return {"type": "http.request", "body": b"x" * CHUNK, "more_body": True}
        if self.then == "disconnect":
            return {"type": "http.disconnect"}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(self, message: dict) -> None:
        self.sent.append(message)


async def answer_at_once(scope, receive, send):
    await send({"type": "http.response.start", "status": 401, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def reading(errors: list[BaseException]):
    async def app(scope, receive, send):
        try:
            while (await receive()).get("more_body"):
                pass
        except (TesseraError, ClientDisconnectedError) as exc:
            errors.append(exc)
        await answer_at_once(scope, receive, send)

    return app


async def test_an_answer_before_the_body_first_drains_it_up_to_the_limit_and_then_closes():
    client = Client(0, endless=True)
    await body_guard(10)(answer_at_once)(SCOPE, client.receive, client.send)
    assert DRAIN_LIMIT_BYTES < client.read <= DRAIN_LIMIT_BYTES + 2 * CHUNK
    assert (b"connection", b"close") in client.sent[0]["headers"]


async def test_a_body_that_stops_arriving_is_refused_with_request_timeout_at_the_deadline():
    client = Client(2)
    errors: list[BaseException] = []
    started = time.monotonic()
    await body_guard(0.2)(reading(errors))(SCOPE, client.receive, client.send)
    assert 0.2 <= time.monotonic() - started < 1
    assert [e.code for e in errors if isinstance(e, TesseraError)] == ["request_timeout"]
    assert (b"connection", b"close") in client.sent[0]["headers"]


async def test_a_client_leaving_mid_body_raises_client_disconnected_and_is_not_drained():
    client = Client(2, then="disconnect")
    errors: list[BaseException] = []
    await body_guard(10)(reading(errors))(SCOPE, client.receive, client.send)
    assert [type(e) for e in errors] == [ClientDisconnectedError]
    assert client.read == 2 * CHUNK


async def test_after_a_complete_body_messages_pass_unchanged():
    messages = [
        {"type": "http.request", "body": b"{}", "more_body": False},
        {"type": "http.disconnect"},
    ]

    async def receive():
        return messages.pop(0)

    seen = []

    async def app(scope, receive, send):
        seen.append(await receive())
        seen.append(await receive())
        await answer_at_once(scope, receive, send)

    sent: list[dict] = []

    async def send(message):
        sent.append(message)

    await body_guard(10)(app)(SCOPE, receive, send)
    assert [m["type"] for m in seen] == ["http.request", "http.disconnect"]
    assert sent[0]["headers"] == []


def test_only_requests_that_may_carry_a_body_are_guarded():
    def scope(version: str, *headers: tuple[bytes, bytes]) -> dict:
        return {**SCOPE, "http_version": version, "headers": list(headers)}

    assert not has_body(scope("1.1"))  # a plain GET: nothing to read, no deadline to keep
    assert not has_body(scope("1.1", (b"content-length", b"0")))
    assert has_body(scope("1.1", (b"content-length", b"12")))
    assert has_body(scope("1.0", (b"transfer-encoding", b"chunked")))
    assert has_body(scope("2"))  # HTTP/2 may send DATA frames with neither header


async def test_a_request_without_a_body_reaches_the_app_with_the_servers_own_receive():
    client = Client(0)
    seen = []

    async def app(scope, receive, send):
        seen.append(receive)
        await answer_at_once(scope, receive, send)

    await body_guard(1.0)(app)({**SCOPE, "headers": []}, client.receive, client.send)

    assert seen == [client.receive]
    assert [m["type"] for m in client.sent] == ["http.response.start", "http.response.body"]
