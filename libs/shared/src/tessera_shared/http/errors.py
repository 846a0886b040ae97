"""The one place where exceptions become HTTP answers: stable code, localized message, status."""

import logging
from collections.abc import Mapping, Sequence

import msgspec
from litestar import MediaType, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap

from tessera_shared.context import request_id_var
from tessera_shared.errors import ERRORS, FIELD_ERRORS, Code, ErrorBody, FieldError, TesseraError
from tessera_shared.errors.fields import parse_field_error, split_msgspec_error
from tessera_shared.http.body_guard import ClientDisconnectedError
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.request import AnyRequest

log = logging.getLogger("tessera.errors")

_CODE_BY_STATUS = {
    400: Code.BAD_REQUEST,
    401: Code.UNAUTHORIZED,
    403: Code.FORBIDDEN,
    404: Code.NOT_FOUND,
    405: Code.METHOD_NOT_ALLOWED,
    413: Code.PAYLOAD_TOO_LARGE,
    415: Code.UNSUPPORTED_MEDIA_TYPE,
    429: Code.RATE_LIMITED,
    502: Code.BAD_GATEWAY,
    503: Code.SERVICE_UNAVAILABLE,
    504: Code.GATEWAY_TIMEOUT,
}

CLIENT_CLOSED_REQUEST = 499
"""nginx's status for a client that left before the answer: never sent, only counted and logged."""


RETRY_AFTER_S = "2"
"""Retry-After of a 503 that does not know better: a dependency is briefly gone."""


def error_response(
    request: AnyRequest,
    code: Code,
    *,
    params: Mapping[str, object] | None = None,
    details: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response[ErrorBody]:
    """Build the JSON error answer for `code` in the request's language."""
    spec = ERRORS[code]
    translate = translator_of(request)
    body = ErrorBody(
        status=spec.status,
        code=code,
        message=translate(request_locale(request), spec.message, params),
        details=list(details),
        request_id=request_id_var.get(),
    )
    sent = {"cache-control": "no-store", **(headers or {})}
    # Every 503 says when to come back, whichever part or path produced it.
    if spec.status == 503 and not any(name.lower() == "retry-after" for name in sent):
        sent["retry-after"] = RETRY_AFTER_S
    return Response(body, status_code=spec.status, media_type=MediaType.JSON, headers=sent)


def handle_tessera_error(request: AnyRequest, exc: TesseraError) -> Response[ErrorBody]:
    translate = translator_of(request)
    locale = request_locale(request)
    details = [
        detail
        if detail.message
        else FieldError(
            field=detail.field,
            code=detail.code,
            message=translate(locale, FIELD_ERRORS[detail.code]),
        )
        for detail in exc.details
    ]
    return error_response(
        request, exc.code, params=exc.params, details=details, headers=exc.headers
    )


def handle_validation_error(request: AnyRequest, exc: ValidationException) -> Response[ErrorBody]:
    return error_response(request, Code.VALIDATION_FAILED, details=field_errors(request, exc))


def field_errors(request: AnyRequest, exc: ValidationException) -> list[FieldError]:
    """Localized per-field details from a litestar/msgspec validation failure."""
    locale = request_locale(request)
    translate = translator_of(request)
    cause = exc.__cause__
    items: list[tuple[str, str]] = []
    if isinstance(cause, msgspec.ValidationError):
        items.append(split_msgspec_error(str(cause)))
    elif isinstance(exc.extra, list):
        for entry in exc.extra:
            if isinstance(entry, dict):
                items.append((str(entry.get("message", "")), str(entry.get("key", ""))))
    details = []
    for message, path in items:
        parsed = parse_field_error(message, path)
        text = translate(locale, FIELD_ERRORS[parsed.code], parsed.params or None)
        details.append(FieldError(field=parsed.field, code=parsed.code, message=text))
    return details


def handle_http_exception(request: AnyRequest, exc: HTTPException) -> Response[ErrorBody]:
    if exc.status_code == 400 and _is_malformed_body(exc):
        return error_response(request, Code.INVALID_JSON)
    code = _CODE_BY_STATUS.get(exc.status_code)
    if code is None:
        if exc.status_code >= 500:
            return handle_unexpected(request, exc)
        code = Code.BAD_REQUEST
    return error_response(request, code, headers=exc.headers)


def handle_unavailable(request: AnyRequest, exc: Exception) -> Response[ErrorBody]:
    log.warning("dependency unavailable: %s", type(exc).__name__)
    return error_response(request, Code.SERVICE_UNAVAILABLE)


def handle_client_gone(request: AnyRequest, exc: ClientDisconnectedError) -> Response[None]:
    log.info("client disconnected before its request body was complete")
    return Response(None, status_code=CLIENT_CLOSED_REQUEST)


def handle_unexpected(request: AnyRequest, exc: Exception) -> Response[ErrorBody]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, Code.INTERNAL_ERROR)


def _is_malformed_body(exc: HTTPException) -> bool:
    detail = str(exc.detail)
    return "JSON is malformed" in detail or "truncated" in detail or "decode" in detail.lower()


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    TesseraError: handle_tessera_error,
    ValidationException: handle_validation_error,
    HTTPException: handle_http_exception,
    ClientDisconnectedError: handle_client_gone,
    Exception: handle_unexpected,
}
