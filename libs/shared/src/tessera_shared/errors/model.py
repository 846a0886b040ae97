"""The domain-side exception and the JSON body every error answer has."""

from collections.abc import Mapping

import msgspec

from tessera_shared.errors.codes import ERRORS, Code


class FieldError(msgspec.Struct, frozen=True, kw_only=True):
    """One invalid field of a request."""

    field: str
    """Dotted path of the field in the body, or the header/query parameter name."""
    code: str
    """Stable machine code, e.g. `missing_field`."""
    message: str
    """Localized explanation for a person."""


class ErrorBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What every error response carries."""

    status: int
    """The HTTP status, repeated for clients that only see the body."""
    code: str
    """Stable machine code (see the error code list in the README)."""
    message: str
    """Localized explanation for a person, in the language negotiated from Accept-Language."""
    details: list[FieldError] = []
    """Per-field problems of a `validation_failed` answer."""
    request_id: str | None = None
    """The X-Request-ID of the request, for support."""


class TesseraError(Exception):
    """A failure with a stable code; raised by domain and service code, mapped to HTTP once."""

    def __init__(
        self,
        code: Code,
        /,
        *,
        params: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
        details: list[FieldError] | None = None,
    ) -> None:
        if code not in ERRORS:
            raise ValueError(f"unregistered error code {code!r}")
        super().__init__(code)
        self.code = code
        self.params = dict(params or {})
        self.headers = dict(headers or {})
        self.details = details or []
