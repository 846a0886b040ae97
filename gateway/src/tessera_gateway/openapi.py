"""One OpenAPI 3.1 document for the whole public API, merged from the services' documents.

The services describe their own routes (litestar generates them from the msgspec structs);
the gateway fetches both, keeps only public paths, adds what it enforces itself (API key,
bearer tokens, the shared error body) and serves the result at `/openapi.json`, with a
documentation page at `/docs`. Fetched lazily and cached, so a service restart shows up.
"""

import time
from collections.abc import Iterable
from typing import Any

import aiohttp
from litestar import MediaType, Request, Response, get
from litestar.datastructures import State

from tessera_gateway.api_keys import requires_api_key
from tessera_gateway.routing import requires_access_token, resolve
from tessera_shared.http.errors import error_response

CACHE_S = 60.0
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
API_KEY: dict[str, list[str]] = {"ApiKey": []}
BEARER: dict[str, list[str]] = {"BearerToken": []}


def merge(documents: Iterable[dict[str, Any]], *, version: str = "1.0.0") -> dict[str, Any]:
    """Public paths of every document, their schemas, and the gateway's security schemes."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for document in documents:
        for path, operations in document.get("paths", {}).items():
            if resolve(path.split("{", 1)[0]) is None and path != "/.well-known/jwks.json":
                continue
            paths[path] = {
                method: _secured(path, operation) for method, operation in operations.items()
            }
        schemas.update(document.get("components", {}).get("schemas", {}))
    schemas.setdefault("ErrorBody", _ERROR_BODY)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tessera",
            "version": version,
            "description": (
                "Registration, authentication, sessions and MFA. Errors share one body with a "
                "stable `code` and a localized `message` (Accept-Language: en, de, fr, it)."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "BearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }


def _secured(path: str, operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation
    operation = dict(operation)
    if requires_api_key(path):
        operation["security"] = [API_KEY]
    elif requires_access_token(path):
        operation["security"] = [BEARER]
    responses = dict(operation.get("responses", {}))
    responses.setdefault(
        "4XX", {"description": "Error", "content": {"application/json": {"schema": ERROR_REF}}}
    )
    operation["responses"] = responses
    return operation


_ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["status", "code", "message"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string", "description": "Stable machine code"},
        "message": {"type": "string", "description": "Localized text"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            },
        },
        "request_id": {"type": "string"},
    },
}


class OpenApiCache:
    def __init__(self, client: aiohttp.ClientSession, upstreams: dict[str, str]) -> None:
        self._client = client
        self._upstreams = upstreams
        self._document: dict[str, Any] | None = None
        self._fetched = 0.0

    async def document(self) -> dict[str, Any] | None:
        if self._document is None or time.monotonic() - self._fetched > CACHE_S:
            fetched = []
            for base in self._upstreams.values():
                try:
                    async with self._client.get(
                        f"{base}/schema/openapi.json", timeout=aiohttp.ClientTimeout(total=3)
                    ) as answer:
                        if answer.status == 200:
                            fetched.append(await answer.json())
                except (aiohttp.ClientError, TimeoutError):
                    continue
            if len(fetched) == len(self._upstreams):
                self._document, self._fetched = merge(fetched), time.monotonic()
        return self._document  # the last complete one while a service is away


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tessera API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="/openapi.json"></redoc>
<script src="https://cdn.redoc.ly/redoc/v2.5.0/bundles/redoc.standalone.js"></script>
</body></html>"""


@get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request[Any, Any, State], state: State) -> Response[Any]:
    """The merged document; 503 until both services have answered once."""
    cache: OpenApiCache = state.openapi
    document = await cache.document()
    if document is None:
        return error_response(request, "service_unavailable", headers={"retry-after": "5"})
    return Response(document, headers={"cache-control": "public, max-age=60"})


@get("/docs", include_in_schema=False, media_type=MediaType.HTML)
async def docs_page() -> str:
    return DOCS_PAGE
