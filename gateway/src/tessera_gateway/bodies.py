"""Which request bodies the gateway forwards: JSON only. Pure: no I/O.

Refusing other media types also keeps cross-site forms out: a browser sends a text/plain or
form body to another origin without asking first, but JSON only after a CORS preflight.
"""

JSON = "application/json"


def is_json(content_type: str | None) -> bool:
    """Whether `content_type` is `application/json`, with or without parameters (charset)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == JSON


def body_refusal(body: bytes, content_type: str | None) -> str | None:
    """The error code refusing a request body, or None when it may be forwarded."""
    if body and not is_json(content_type):
        return "unsupported_media_type"
    return None
