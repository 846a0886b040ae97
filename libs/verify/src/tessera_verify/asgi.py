"""A framework-agnostic dependency for asyncio web apps (FastAPI, Litestar, Starlette, raw ASGI).

    check = require_token(AsyncVerifier(issuer=..., audience=..., jwks_url=...))
    claims = await check(authorization_header_value)   # raises RefusalError

`check` takes the `Authorization` header's value (None when absent) and gives the `Claims`, or
raises `RefusalError` (`.status`, `.body`, `.headers`), or what `error` makes of it: pass your
framework's HTTP exception there and its own handlers answer. No framework is imported here.
"""

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from tessera_verify.bearer import RefusalError, bearer_token
from tessera_verify.errors import VerificationError
from tessera_verify.verifier import AsyncVerifier, Claims

Check = Callable[[str | None], Awaitable[Claims]]


def require_token(
    verifier: AsyncVerifier, *, error: Callable[[RefusalError], Exception] | None = None
) -> Check:
    """An async callable: `Authorization` header value → `Claims`, else raises (see module)."""

    async def check(authorization: str | None) -> Claims:
        token = bearer_token(authorization)
        try:
            if token is None:
                raise RefusalError(None)
            try:
                return await verifier.verify(token)
            except VerificationError as refused:
                raise RefusalError(refused) from None
        except RefusalError as refusal:
            if error is None:
                raise
            raise error(refusal) from None

    return check


def authorization(scope: dict[str, Any]) -> str | None:
    """The `Authorization` header of an ASGI HTTP scope (the first, if sent twice), or None."""
    headers: Iterable[tuple[bytes, bytes]] = scope.get("headers", ())
    for name, value in headers:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


async def send_refusal(
    send: Callable[[dict[str, Any]], Awaitable[None]], refusal: RefusalError
) -> None:
    """Answers an ASGI request with `refusal` (JSON body, its status and headers)."""
    body = refusal.json()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(name.lower().encode(), value.encode()) for name, value in refusal.headers.items()]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
