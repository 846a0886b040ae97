"""The error answers and request headers of the OpenAPI document, from the one error registry.

A route declares the domain codes it may answer and the headers it reads, in its `opt`:
`@post(..., opt=documented(Code.OTP_INVALID, headers=[DEVICE_ID]))`. `finish_document` then
replaces litestar's default 400 (`{status_code, detail, extra}`, which no route answers) with
Tessera's: one response per status, the `ErrorBody` schema, the possible codes in the
description and one example each, plus the answers every route of that shape may give (a body:
400 invalid_json, 413, 422; query parameters: 422; a bearer token: 401; always 503). The
gateway merges the services' documents with `add_errors` for what it answers itself.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import msgspec
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from tessera_shared.errors import ERRORS, Code, ErrorBody

ERRORS_KEY = "tessera_errors"
HEADERS_KEY = "tessera_headers"
ERROR_SCHEMA = "ErrorBody"
ERROR_REF = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
BEARER_SCHEME = "BearerToken"
BEARER: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
ADMIN_SCHEME = "AdminKey"
ADMIN: list[dict[str, list[str]]] = [{ADMIN_SCHEME: []}]
"""The admin API (`/admin/v1/...`): an operator's key (`tsa_...`) as Bearer, checked by the
gateway, which forwards its id and scopes to the service."""
SECURITY_SCHEMES: dict[str, Any] = {
    BEARER_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    ADMIN_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "tsa_ admin key",
        "description": "An admin key made with `python -m tessera_gateway api-keys create "
        "--admin NAME`, scoped (users:read, users:write, sessions:write, audit:read).",
    },
}
# What a body can be refused for before the route runs, and what any route may answer.
BODY_CODES = (
    Code.INVALID_JSON,
    Code.PAYLOAD_TOO_LARGE,
    Code.REQUEST_TIMEOUT,
    Code.VALIDATION_FAILED,
)
PARAMETER_CODES = (Code.VALIDATION_FAILED,)
BEARER_CODES = (Code.UNAUTHORIZED, Code.TOKEN_INVALID)
ADMIN_CODES = (Code.UNAUTHORIZED, Code.ADMIN_KEY_INVALID, Code.ADMIN_SCOPE_MISSING)
ALWAYS_CODES = (Code.SERVICE_UNAVAILABLE,)
# Codes several routes share, for their `documented(...)`.
OTP_CHECK = (Code.OTP_INVALID, Code.OTP_EXPIRED, Code.OTP_USED, Code.OTP_ATTEMPTS_EXCEEDED)
CODE_CAPS = (Code.RESEND_TOO_SOON, Code.TOO_MANY_CODES)
PASSWORD_RULES = (
    Code.PASSWORD_TOO_SHORT,
    Code.PASSWORD_TOO_LONG,
    Code.PASSWORD_BLANK,
    Code.PASSWORD_TOO_COMMON,
)
ADDRESS_RULES = (Code.INVALID_EMAIL, Code.INVALID_PHONE)
# A password sign-in (identity's answers pass through session), and the MFA code it may send.
SIGN_IN = (
    Code.INVALID_CREDENTIALS,
    Code.ACCOUNT_LOCKED,
    Code.LOGIN_ATTEMPTS_IN_PROGRESS,
    Code.ACCOUNT_NOT_VERIFIED,
    Code.ACCOUNT_DISABLED,
    Code.BAD_REQUEST,
    *CODE_CAPS,
)
# An MFA challenge and its second factor.
SECOND_FACTOR = (
    Code.CHALLENGE_INVALID,
    Code.RECOVERY_CODE_INVALID,
    Code.MFA_FACTOR_UNAVAILABLE,
    Code.MFA_ATTEMPTS_EXCEEDED,
    *OTP_CHECK,
)


class Header(msgspec.Struct, frozen=True, kw_only=True):
    """A request header (or cookie) a route reads, documented as an OpenAPI parameter."""

    name: str
    description: str
    location: Literal["header", "cookie"] = "header"
    required: bool = False
    pattern: str | None = None
    max_length: int | None = None

    def parameter(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string"}
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        return {
            "name": self.name,
            "in": self.location,
            "required": self.required,
            "description": self.description,
            "schema": schema,
        }


ACCEPT_LANGUAGE = Header(
    name="Accept-Language",
    description="Language of `message` in answers (en, de, fr, it; English otherwise).",
)
REQUEST_ID = Header(
    name="X-Request-ID",
    description="Kept when 1 to 128 letters, digits or `. _ : -` (else a new one); echoed in "
    "the answer's X-Request-ID and an error's `request_id`.",
)
DEVICE_ID = Header(
    name="X-Device-ID",
    description="The client device: one session (refresh token family) per app and device. "
    "Missing or malformed: 400 device_id_required.",
    required=True,
    pattern=r"^[A-Za-z0-9._:-]{1,128}$",
)
DEVICE_ID_OPTIONAL = Header(
    name="X-Device-ID",
    description="The client device. When absent (or empty): a new random device at sign-in, "
    "else the device of the session or challenge; when sent, it must be that one. Malformed: "
    "400 device_id_required.",
    pattern=r"^[A-Za-z0-9._:-]{0,128}$",
)
APP_ID = Header(
    name="X-App-ID",
    description="The client application (its own refresh cookie); the configured default "
    "when absent or empty. Malformed: 400 app_id_invalid.",
    pattern=r"^[A-Za-z0-9_-]{0,64}$",
)
OTP = Header(
    name="X-OTP",
    description="A current code of the factor (sent by email/SMS, or shown by the app).",
    max_length=32,
)
COMMON_HEADERS = (ACCEPT_LANGUAGE, REQUEST_ID)

# Response headers of some error answers.
_RETRY_AFTER = {
    "description": "Seconds to wait before trying again.",
    "schema": {"type": "string", "pattern": r"^\d+$"},
}
_RESPONSE_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "The Bearer challenge, when an access token was expected.",
            "schema": {"type": "string"},
        }
    },
    405: {
        "Allow": {
            "description": "The methods this path accepts.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {"Retry-After": _RETRY_AFTER},
    503: {"Retry-After": _RETRY_AFTER},
}


def documented(*codes: Code, headers: Sequence[Header] = ()) -> dict[str, Any]:
    """A route's `opt`: the domain error codes it may answer and the headers it reads."""
    unknown = [code for code in codes if code not in ERRORS]
    if unknown:
        raise ValueError(f"unregistered error codes {unknown}")
    return {ERRORS_KEY: tuple(codes), HEADERS_KEY: tuple(headers)}


def error_schema() -> dict[str, Any]:
    """The JSON schema of `ErrorBody` (with its `FieldError`), inlined, as msgspec sees it."""
    _, components = msgspec.json.schema_components([ErrorBody], ref_template="{name}")
    inlined = dict(components[ERROR_SCHEMA])
    properties = dict(inlined["properties"])
    details = dict(properties["details"])
    details["items"] = components["FieldError"]
    properties["details"] = details
    inlined["properties"] = properties
    return inlined


def error_response(codes: Iterable[str]) -> dict[str, Any]:
    """The OpenAPI response for `codes` of one status: ErrorBody, the codes and their examples."""
    ordered = sorted(set(codes))
    statuses = {ERRORS[Code(code)].status for code in ordered}
    if len(statuses) != 1:
        raise ValueError(f"codes of different statuses in one response: {ordered}")
    status = statuses.pop()
    listing = "; ".join(f"`{code}`: {ERRORS[Code(code)].message}" for code in ordered)
    response: dict[str, Any] = {
        "description": f"`code` is one of: {listing}",
        "content": {
            "application/json": {
                # The body's `code` is one of these: a mismatch fails a schema check.
                "schema": {
                    "allOf": [
                        ERROR_REF,
                        {"properties": {"status": {"const": status}, "code": {"enum": ordered}}},
                    ]
                },
                "examples": {
                    code: {
                        "summary": ERRORS[Code(code)].message,
                        "value": {
                            "status": status,
                            "code": code,
                            "message": ERRORS[Code(code)].message,
                        },
                    }
                    for code in ordered
                },
            }
        },
    }
    if status in _RESPONSE_HEADERS:
        response["headers"] = _RESPONSE_HEADERS[status]
    return response


def codes_of(response: Mapping[str, Any]) -> set[str]:
    """The error codes an `error_response` documents (none for any other response)."""
    media = response.get("content", {}).get("application/json", {})
    if media.get("schema", {}).get("allOf", [None])[0] != ERROR_REF:
        return set()
    return set(media.get("examples", {}))


def add_errors(operation: dict[str, Any], codes: Iterable[str]) -> dict[str, Any]:
    """`operation` with `codes` added to its error responses (one per status)."""
    responses = dict(operation.get("responses", {}))
    by_status: dict[int, set[str]] = {}
    for code in codes:
        by_status.setdefault(ERRORS[Code(code)].status, set()).add(code)
    for status, added in by_status.items():
        present = codes_of(responses.get(str(status), {}))
        responses[str(status)] = error_response(present | added)
    return {**operation, "responses": dict(sorted(responses.items()))}


def _is_litestar_default(response: Mapping[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return isinstance(schema, dict) and {"status_code", "detail"} <= set(
        schema.get("properties", {})
    )


def finish_operation(
    operation: dict[str, Any], codes: Iterable[str], headers: Iterable[Header]
) -> dict[str, Any]:
    """One operation as Tessera answers it: see the module docstring."""
    responses = {
        status: response
        for status, response in operation.get("responses", {}).items()
        if not _is_litestar_default(response)
    }
    parameters = list(operation.get("parameters", []))
    named = {(str(p.get("name", "")).lower(), p.get("in")) for p in parameters}
    for header in (*headers, *COMMON_HEADERS):
        if (header.name.lower(), header.location) not in named:
            parameters.append(header.parameter())
            named.add((header.name.lower(), header.location))
    needed = set(codes) | set(ALWAYS_CODES)
    if "requestBody" in operation:
        needed |= set(BODY_CODES)
    if any(p.get("in") == "query" for p in parameters):  # a path segment is any string
        needed |= set(PARAMETER_CODES)
    if any(BEARER_SCHEME in requirement for requirement in operation.get("security", [])):
        needed |= set(BEARER_CODES)
    if any(ADMIN_SCHEME in requirement for requirement in operation.get("security", [])):
        needed |= set(ADMIN_CODES)
    finished = {**operation, "responses": responses, "parameters": parameters}
    return add_errors(finished, needed)


class Declared(msgspec.Struct, frozen=True, kw_only=True):
    """What one route declared (`documented`) and whether its body may be left out."""

    codes: tuple[str, ...] = ()
    headers: tuple[Header, ...] = ()
    body_optional: bool = False


def finish_document(
    document: dict[str, Any], declared: Mapping[tuple[str, str], Declared]
) -> dict[str, Any]:
    """The whole document finished; `declared`: by (path, method) of the route."""
    paths: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        paths[path] = {}
        for method, operation in item.items():
            if not (isinstance(operation, dict) and "responses" in operation):
                paths[path][method] = operation
                continue
            route = declared.get((path, method), Declared())
            if route.body_optional and "requestBody" in operation:
                operation = {**operation, "requestBody": {**operation["requestBody"]}}
                operation["requestBody"]["required"] = False  # litestar says true for `X | None`
            paths[path][method] = finish_operation(operation, route.codes, route.headers)
    components = dict(document.get("components", {}))
    schemas = dict(components.get("schemas", {}))
    schemas[ERROR_SCHEMA] = error_schema()
    components["schemas"] = dict(sorted(schemas.items()))
    components["securitySchemes"] = {
        **components.get("securitySchemes", {}),
        **SECURITY_SCHEMES,
    }
    return {**document, "paths": paths, "components": components}


def declared_by(app: Litestar) -> dict[tuple[str, str], Declared]:
    """What each route of `app` declared with `documented`, by (path, method)."""
    declared: dict[tuple[str, str], Declared] = {}
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for method, (handler, _) in route.route_handler_map.items():
            data = handler.parsed_fn_signature.parameters.get("data")
            declared[(route.path_format or "/", method.lower())] = Declared(
                codes=tuple(handler.opt.get(ERRORS_KEY, ())),
                headers=tuple(handler.opt.get(HEADERS_KEY, ())),
                body_optional=data is not None and (data.is_optional or data.has_default),
            )
    return declared


def document_of(app: Litestar) -> dict[str, Any]:
    """The finished OpenAPI document of `app`, as `/schema/openapi.json` serves it."""
    return finish_document(app.openapi_schema.to_schema(), declared_by(app))


class FinishedJson(JsonRenderPlugin):
    """Serves `document_of(app)` at `/schema/openapi.json` (built once, on first use)."""

    def __init__(self) -> None:
        super().__init__()
        self._finished: dict[str, Any] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._finished is None:
            self._finished = finish_document(openapi_schema, declared_by(request.app))
        return self.render_json(request, self._finished)
