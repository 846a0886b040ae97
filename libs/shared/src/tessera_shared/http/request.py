"""The request class of every part: a body that is no JSON is `400 invalid_json`, never a 500."""

from typing import Any

from litestar import Request

from tessera_shared.errors import TesseraError


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
            raise TesseraError("invalid_json") from None
