"""Which request bodies the gateway forwards: well-formed JSON only. Pure: no I/O.

Refusing other media types also keeps cross-site forms out: a browser sends a text/plain or
form body to another origin without asking first, but JSON only after a CORS preflight.
"""

from collections.abc import Mapping

from tessera_shared.errors import Code, TesseraError
from tessera_shared.http.json_body import well_formed

JSON = "application/json"


def is_json(content_type: str | None) -> bool:
    """Whether `content_type` is `application/json`, with or without parameters (charset)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == JSON


def check_body(body: bytes, content_type: str | None, *, headers: Mapping[str, str]) -> None:
    """Raises `TesseraError` (with `headers`) unless the request body may be forwarded."""
    if not body:
        return
    if not is_json(content_type):
        raise TesseraError(Code.UNSUPPORTED_MEDIA_TYPE, headers=headers)
    # Refused here, after the rate limits counted it: the services would refuse it too, and
    # every part answers bytes that are no JSON (not UTF-8, nested too deep) the same way.
    if not well_formed(body):
        raise TesseraError(Code.INVALID_JSON, headers=headers)
