"""The request class of every part: a body that is no JSON is `400 invalid_json`, never a 500."""

from typing import Any

from litestar import Request
from litestar.datastructures import State

from tessera_shared.errors import Code, TesseraError

AnyRequest = Request[object, object, State]
"""How handlers and helpers name the request: Tessera reads no typed user, auth or state."""


class TesseraRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        """The decoded JSON body, as litestar's, with its two uncaught decoding failures mapped.

        litestar turns only `msgspec.DecodeError` into a 400; invalid UTF-8 raises
        `UnicodeDecodeError` and nesting past the recursion limit `RecursionError`, both from
        this one decoding call (see `json_body`).
        """
        try:
            return await super().json()
        except (UnicodeDecodeError, RecursionError):
            raise TesseraError(Code.INVALID_JSON) from None
