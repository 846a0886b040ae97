"""Decoding request bytes as JSON with one error for every way they can be no JSON. Pure.

msgspec signals bad bytes three ways: `DecodeError` for syntax, but `UnicodeDecodeError` for
invalid UTF-8 (e.g. a body sent as `charset=latin1`: JSON is UTF-8, RFC 8259) and
`RecursionError` for nesting deeper than Python's recursion limit (~1,000 levels). Callers catch
the one `MalformedJsonError` instead and answer `400 invalid_json`.
"""

from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_ANY = msgspec.json.Decoder()


class MalformedJsonError(ValueError):
    """Not JSON: bad syntax, not UTF-8, or nested too deep to decode."""


def decode(body: bytes, decoder: msgspec.json.Decoder[T]) -> T:
    """`decoder.decode(body)`, raising `MalformedJsonError` for bytes that are no JSON at all.

    Valid JSON of the wrong shape still raises `msgspec.ValidationError`.
    """
    try:
        return decoder.decode(body)
    except msgspec.ValidationError:
        raise
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        # RecursionError comes from this one call (msgspec counts its own nesting), so
        # catching it here cannot hide a bug elsewhere.
        raise MalformedJsonError(type(exc).__name__) from None


def decode_any(body: bytes) -> Any:
    """`body` as plain Python values; `MalformedJsonError` when it is no JSON."""
    return decode(body, _ANY)


def well_formed(body: bytes) -> bool:
    """Whether `body` is well-formed UTF-8 JSON that can be decoded."""
    try:
        decode_any(body)
    except MalformedJsonError:
        return False
    return True
