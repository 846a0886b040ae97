"""One OpenAPI 3.1 document for the whole public API, merged from the services' documents.

The services describe their own routes (litestar generates them from the msgspec structs, and
`tessera_shared.http.openapi` adds their error answers and headers); the gateway fetches both,
keeps only public paths, adds what it enforces and answers itself (API key, bearer tokens, admin
keys, rate limits, JSON bodies, upstream failures) and serves the result at `/openapi.json`, with a
documentation page at `/docs` (Redoc, served by the gateway itself: `tessera_shared.http.docs`).
Fetched lazily and cached, so a service restart shows up.
"""

import time
from collections.abc import Iterable
from typing import Any

import aiohttp
from litestar import MediaType, Request, Response, Router, get
from litestar.datastructures import State

from tessera_gateway import oauth
from tessera_gateway.routes import Route, route_of
from tessera_shared.errors import Code
from tessera_shared.http import docs
from tessera_shared.http.errors import error_response
from tessera_shared.http.openapi import (
    ADMIN,
    ADMIN_CODES,
    BEARER_CODES,
    BEARER_SCHEME,
    ERROR_SCHEMA,
    SECURITY_SCHEMES,
    add_errors,
    error_schema,
)

CACHE_S = 60.0
API_KEY: dict[str, list[str]] = {"ApiKey": []}
BEARER: dict[str, list[str]] = {BEARER_SCHEME: []}
# What the gateway itself may answer on every forwarded route, on routes with a body, and on
# routes needing an API key.
FORWARDED_CODES = (
    Code.RATE_LIMITED,
    Code.BAD_GATEWAY,
    Code.SERVICE_UNAVAILABLE,
    Code.GATEWAY_TIMEOUT,
)
BODY_CODES = (
    Code.UNSUPPORTED_MEDIA_TYPE,
    Code.PAYLOAD_TOO_LARGE,
    Code.REQUEST_TIMEOUT,
    Code.INVALID_JSON,
)
API_KEY_CODES = (Code.API_KEY_MISSING, Code.API_KEY_INVALID)


def merge(
    documents: Iterable[dict[str, Any]], *, version: str = "1.0.0", admin: bool = True
) -> dict[str, Any]:
    """Public paths of every document, their schemas, the gateway's own paths (`oauth`) and its
    security schemes; the admin API's paths only when `admin` (`TESSERA_GATEWAY_ADMIN_ENABLED`)."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for document in documents:
        for path, operations in document.get("paths", {}).items():
            route = route_of(path)
            if route is None or (route.bearer == "admin" and not admin):
                continue
            paths[path] = {
                method: _secured(route, operation) for method, operation in operations.items()
            }
        schemas.update(document.get("components", {}).get("schemas", {}))
    paths.update(oauth.paths())
    schemas.update(oauth.schemas())
    schemas[ERROR_SCHEMA] = error_schema()
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
                **SECURITY_SCHEMES,
                **oauth.SECURITY_SCHEMES,
            },
        },
    }


def _secured(route: Route, operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation
    operation = dict(operation)
    codes = list(FORWARDED_CODES)
    if route.api_key:
        operation["security"] = [API_KEY]
        codes += API_KEY_CODES
    elif route.bearer == "admin":
        operation["security"] = list(ADMIN)
        codes += ADMIN_CODES
    elif route.bearer != "none":
        operation["security"] = [BEARER]
        codes += BEARER_CODES
    else:
        operation.pop("security", None)
    if "requestBody" in operation:
        codes += BODY_CODES
    return add_errors(operation, codes)


class OpenApiCache:
    def __init__(
        self, client: aiohttp.ClientSession, upstreams: dict[str, str], *, admin: bool = True
    ) -> None:
        self._client = client
        self._upstreams = upstreams
        self._admin = admin
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
                self._document = merge(fetched, admin=self._admin)
                self._fetched = time.monotonic()
        return self._document  # the last complete one while a service is away


DOCS_PATH = "/docs"
DOCS_ASSETS = f"{DOCS_PATH}/{docs.ASSETS}"
DOCS_PAGE = docs.page("Tessera API", "/openapi.json", DOCS_ASSETS)


def docs_assets() -> Router:
    """Redoc's bundle, from the installed package: the page makes no request elsewhere."""
    return docs.assets_router(DOCS_ASSETS)


@get("/openapi.json", include_in_schema=False)
async def openapi_document(request: Request[Any, Any, State], state: State) -> Response[Any]:
    """The merged document; 503 until both services have answered once."""
    cache: OpenApiCache = state.openapi
    document = await cache.document()
    if document is None:
        return error_response(request, Code.SERVICE_UNAVAILABLE, headers={"retry-after": "5"})
    return Response(document, headers={"cache-control": "public, max-age=60"})


@get(DOCS_PATH, include_in_schema=False, media_type=MediaType.HTML)
async def docs_page() -> str:
    return DOCS_PAGE
