"""The gateway's OAuth endpoints: RFC 7662 token introspection and RFC 8414 metadata. Pure: no I/O.

`POST /oauth2/introspect` lets a resource server (any language) ask whether an access token is
live: signed by the session service, unexpired, an access token (not an MFA challenge) and its
session not ended. It authenticates as a client application with its API key, sent either as
`X-API-Key` or, as RFC 6749 §2.3.1 has clients do, in HTTP Basic with the key id as the user
name (`tsk_` + 8 characters: the start of the key itself, unique, what `api-keys list` shows;
key names are labels and need not be unique) and the key as the password. The answer is
`{"active": false}` for every token that is not live, whatever the reason (RFC 7662 §2.2).

`GET /.well-known/oauth-authorization-server` describes it (and the JWKS) to such clients.
The routes themselves are in `oauth_routes.py`, their OpenAPI operations here.
"""

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qs, unquote_plus

import msgspec

from tessera_gateway.api_keys import is_key_id, key_id_of
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.errors import Code, TesseraError
from tessera_shared.http.openapi import COMMON_HEADERS, add_errors

INTROSPECTION_PATH = "/oauth2/introspect"
METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/.well-known/jwks.json"
"""The session service's key set, forwarded by the gateway (`routes.PREFIXES`)."""
FORM = "application/x-www-form-urlencoded"
BASIC_CHALLENGE = 'Basic realm="tessera"'
"""`WWW-Authenticate` of every 401 of the introspection endpoint."""
API_KEY_AUTH_METHOD = "tessera_api_key"
"""Our extension of RFC 8414's client authentication methods: the key in `X-API-Key`."""
AUTH_METHODS = ("client_secret_basic", API_KEY_AUTH_METHOD)
INTROSPECTION_HEADERS: dict[str, str] = {
    "cache-control": "no-store",
    "content-type": "application/json",
}
METADATA_HEADERS: dict[str, str] = {
    "cache-control": "public, max-age=3600",
    "content-type": "application/json",
}
_MAX_FORM_FIELDS = 32
_HOST = re.compile(
    r"(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?"
)


class IntrospectionActive(msgspec.Struct, frozen=True, kw_only=True):
    """A live access token (RFC 7662 §2.2); `scope` is left out: Tessera has no scopes yet."""

    active: Literal[True] = True
    sub: str
    sid: str
    exp: int
    iat: int
    client_id: str
    amr: list[str]
    # RFC 7662 §2.2: a type of RFC 6749 §5.1 (RFC 6750's `Bearer`). `access_token` is a value
    # of `token_type_hint` (RFC 7009), not of this.
    token_type: Literal["Bearer"] = "Bearer"
    iss: str
    aud: str


class IntrospectionInactive(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Any token that is not a live access token: expired, forged, malformed, an MFA challenge
    token, or one whose session ended (logout, reuse detection)."""

    active: Literal[False] = False


class AuthorizationServerMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """RFC 8414 §2, what Tessera really supports. Neither an authorization nor a token endpoint
    (sign-in is Tessera's own API), so no response or grant types: both lists are empty, which
    also keeps RFC 8414's defaults (`authorization_code`, `implicit`) from being assumed."""

    issuer: str
    jwks_uri: str
    introspection_endpoint: str
    introspection_endpoint_auth_methods_supported: list[str]
    response_types_supported: list[str]
    grant_types_supported: list[str]
    service_documentation: str


_ENCODER = msgspec.json.Encoder()
_INACTIVE = _ENCODER.encode(IntrospectionInactive())


def client_error(code: Code, headers: Mapping[str, str] | None = None) -> TesseraError:
    """A refusal of the client's credentials (401 with the Basic challenge) or request (400)."""
    sent = dict(headers or {})
    if code in (Code.UNAUTHORIZED, Code.API_KEY_INVALID):
        sent["www-authenticate"] = BASIC_CHALLENGE
    return TesseraError(code, headers=sent)


def client_key(api_key: str | None, authorization: str | None) -> str:
    """The plain API key the resource server authenticates with, from `X-API-Key` or HTTP Basic.

    Raises `unauthorized` without either, `api_key_invalid` for Basic credentials that cannot
    be a key and its id, and `invalid_request` for both at once (RFC 6749 §2.3: one method).
    Whether the key is known is the caller's lookup.
    """
    basic = _basic_key(authorization)
    if api_key and basic is not None:
        raise client_error(Code.INVALID_REQUEST)
    if api_key:
        return api_key
    if basic is None:
        raise client_error(Code.UNAUTHORIZED)
    return basic


def _basic_key(authorization: str | None) -> str | None:
    """The password of `Basic` credentials naming its own key id; None: no Basic credentials."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise client_error(Code.API_KEY_INVALID) from None
    user, colon, password = decoded.partition(":")
    # RFC 6749 §2.3.1: both form-encoded first (a no-op for key ids and keys: base64url).
    key_id, plain = unquote_plus(user), unquote_plus(password)
    if not colon or not is_key_id(key_id) or key_id_of(plain) != key_id:
        raise client_error(Code.API_KEY_INVALID)
    return plain


def is_form(content_type: str | None) -> bool:
    """Whether `content_type` is `application/x-www-form-urlencoded` (parameters allowed)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == FORM


def token_in(body: bytes, content_type: str | None, *, headers: Mapping[str, str]) -> str:
    """The `token` parameter of an introspection request (`token_type_hint` and unknown ones
    are ignored); `invalid_request` (with `headers`) unless the body is a form naming it once."""
    if not is_form(content_type):
        raise client_error(Code.INVALID_REQUEST, headers)
    try:
        fields = parse_qs(
            body.decode(),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=_MAX_FORM_FIELDS,
        )
    except ValueError:  # not UTF-8 (UnicodeDecodeError is one), or too many fields
        raise client_error(Code.INVALID_REQUEST, headers) from None
    tokens = fields.get("token", [])
    if len(tokens) != 1 or not tokens[0]:
        raise client_error(Code.INVALID_REQUEST, headers)
    return tokens[0]


def introspection_body(claims: AccessClaims | None) -> bytes:
    """The JSON answer for the claims of a live access token, or `{"active":false}` for None."""
    if claims is None:
        return _INACTIVE
    answer = IntrospectionActive(
        sub=claims.sub,
        sid=claims.sid,
        exp=claims.exp,
        iat=claims.iat,
        client_id=claims.client_id or claims.aid,  # tokens signed before `client_id` existed
        amr=claims.amr,
        iss=claims.iss,
        aud=claims.aud,
    )
    return _ENCODER.encode(answer)


def request_base(scheme: str, host: str | None) -> str | None:
    """`scheme://host` of a request, for absolute URLs; None when the Host header is no host."""
    if not host or not _HOST.fullmatch(host):
        return None
    return f"{scheme}://{host}"


def server_metadata(issuer: str, base: str, docs_path: str) -> bytes:
    """The JSON of `AuthorizationServerMetadata` for a gateway reached at `base`."""
    metadata = AuthorizationServerMetadata(
        issuer=issuer,
        jwks_uri=f"{base}{JWKS_PATH}",
        introspection_endpoint=f"{base}{INTROSPECTION_PATH}",
        introspection_endpoint_auth_methods_supported=list(AUTH_METHODS),
        response_types_supported=[],
        grant_types_supported=[],
        service_documentation=f"{base}{docs_path}",
    )
    return _ENCODER.encode(metadata)


# The OpenAPI document (merged into the gateway's by `openapi.merge`).

CLIENT_BASIC_SCHEME = "ClientBasic"
SECURITY_SCHEMES: dict[str, Any] = {
    CLIENT_BASIC_SCHEME: {
        "type": "http",
        "scheme": "basic",
        "description": "A client application's API key as OAuth client credentials (RFC 6749 "
        "§2.3.1): user name its key id (`tsk_` and 8 characters, the start of the key), "
        "password the key.",
    },
}
INTROSPECTION_CODES = (
    Code.INVALID_REQUEST,
    Code.UNAUTHORIZED,
    Code.API_KEY_INVALID,
    Code.PAYLOAD_TOO_LARGE,
    Code.REQUEST_TIMEOUT,
    Code.RATE_LIMITED,
    Code.SERVICE_UNAVAILABLE,
)
METADATA_CODES = (Code.BAD_REQUEST,)
_SCHEMA_PREFIX = "#/components/schemas/"


def schemas() -> dict[str, Any]:
    """The components the operations below refer to."""
    _, components = msgspec.json.schema_components(
        [IntrospectionActive, IntrospectionInactive, AuthorizationServerMetadata],
        ref_template=f"{_SCHEMA_PREFIX}{{name}}",
    )
    found = dict(components)
    # Fields with a default (`active`, `token_type`) are in every answer all the same.
    for struct in (IntrospectionActive, IntrospectionInactive):
        schema = dict(found[struct.__name__])
        schema["required"] = list(schema["properties"])
        found[struct.__name__] = schema
    return found


def _ref(struct: type[msgspec.Struct]) -> dict[str, str]:
    return {"$ref": f"{_SCHEMA_PREFIX}{struct.__name__}"}


def _parameters() -> list[dict[str, Any]]:
    return [header.parameter() for header in COMMON_HEADERS]


def _with_basic_challenge(operation: dict[str, Any]) -> dict[str, Any]:
    responses = dict(operation["responses"])
    unauthorized = dict(responses["401"])
    unauthorized["headers"] = {
        "WWW-Authenticate": {
            "description": f"`{BASIC_CHALLENGE}`: the client credentials to send.",
            "required": True,
            "schema": {"type": "string"},
        }
    }
    responses["401"] = unauthorized
    return {**operation, "responses": responses}


def introspection_operation() -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": "Introspect an access token (RFC 7662)",
        "description": (
            "For resource servers: whether an access token is live, and its claims. Answered "
            "by the gateway itself with the checks of every proxied request (signature, expiry, "
            "token type, the session not ended). `active` is false for any other token, never "
            "an error. The client authenticates with its API key, as `X-API-Key` or as HTTP "
            "Basic credentials (key id and key), one of the two."
        ),
        "operationId": "OAuth2Introspect",
        "tags": ["OAuth"],
        "security": [{"ApiKey": []}, {CLIENT_BASIC_SCHEME: []}],
        "parameters": _parameters(),
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "required": ["token"],
                        "properties": {
                            "token": {
                                "type": "string",
                                "minLength": 1,
                                "description": "The access token (a JWT).",
                            },
                            "token_type_hint": {
                                "type": "string",
                                "description": "Ignored: Tessera introspects access tokens.",
                            },
                        },
                    }
                }
            },
        },
        "responses": {
            "200": {
                "description": "The token's state; `Cache-Control: no-store`.",
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [_ref(IntrospectionActive), _ref(IntrospectionInactive)]
                        }
                    }
                },
            }
        },
    }
    return _with_basic_challenge(add_errors(operation, INTROSPECTION_CODES))


def metadata_operation() -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": "Authorization server metadata (RFC 8414)",
        "description": (
            "Where resource servers find the token introspection endpoint and the key set. "
            "Absolute URLs from `TESSERA_GATEWAY_PUBLIC_URL`, else from the request's scheme "
            "and Host; cacheable for an hour."
        ),
        "operationId": "OAuth2AuthorizationServerMetadata",
        "tags": ["OAuth"],
        "parameters": _parameters(),
        "responses": {
            "200": {
                "description": "The metadata document.",
                "content": {"application/json": {"schema": _ref(AuthorizationServerMetadata)}},
            }
        },
    }
    return add_errors(operation, METADATA_CODES)


def paths() -> dict[str, Any]:
    """The gateway's own OAuth paths, as OpenAPI path items."""
    return {
        INTROSPECTION_PATH: {"post": introspection_operation()},
        METADATA_PATH: {"get": metadata_operation()},
    }
