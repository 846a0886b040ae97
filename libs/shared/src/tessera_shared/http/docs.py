"""API documentation pages that make no request beyond the part serving them.

Redoc's standalone bundle is vendored next to this module (`redoc/`, with its licences, source
and checksum in `redoc/README.md`) and served by the part itself under a URL carrying its
version, cached for a year: the pages work with the network cut, load exactly the reviewed bytes
and render under `POLICY`, which names no other origin.
"""

import html
from pathlib import Path
from typing import Any

from litestar import Request, Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.static_files import create_static_files_router

REDOC_VERSION = "2.5.4"
REDOC_SHA256 = "dcaf76612bc4a3fbcc923a8966dee2f6146a5f32e5ce1b6f02dd60cbbf89500b"
REDOC_DIR = Path(__file__).parent / "redoc"
ASSETS = f"assets/redoc-{REDOC_VERSION}"
"""Where the bundle is served, below the page's own path (`/docs/assets/redoc-2.5.4/`)."""
YEAR_S = 365 * 24 * 3600

POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        # Redoc's styled-components insert <style> elements as it renders; without this the
        # page breaks (seen in Chromium). Scripts stay 'self' only.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",  # the OpenAPI document
        "worker-src blob:",  # Redoc's search index runs in a worker made from its own bundle
        "base-uri 'none'",
        "form-action 'none'",
    )
)
"""The docs page's Content-Security-Policy: its own origin only. Also in the page (`<meta>`), so
a service's page carries it too; a header adds `frame-ancestors`, which `<meta>` cannot."""


def page(title: str, spec_url: str, assets_url: str) -> str:
    """The HTML of a docs page: Redoc rendering the document at `spec_url`, no inline script."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<link rel="icon" href="data:,">
<style>body {{ margin: 0 }}</style></head>
<body><redoc spec-url="{html.escape(spec_url)}"></redoc>
<script src="{html.escape(assets_url)}/redoc.standalone.js"></script>
</body></html>"""


def assets_router(path: str) -> Router:
    """Serves the vendored bundle (and its licence files) at `path`, cached for a year."""
    return create_static_files_router(
        path,
        directories=[REDOC_DIR],
        cache_control=CacheControlHeader(public=True, max_age=YEAR_S, immutable=True),
        name=f"docs-assets:{path}",
        include_in_schema=False,
    )


class RedocPage(OpenAPIRenderPlugin):
    """A service's docs page at `/schema/redoc`, with its bundle at `/schema/assets/…`."""

    def __init__(self) -> None:
        super().__init__(path="/redoc", favicon="", style="")
        self._base = "/schema"

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = str(openapi_schema.get("info", {}).get("title", "API"))
        return page(title, f"{self._base}/openapi.json", f"{self._base}/{ASSETS}").encode()

    def receive_router(self, router: Router) -> None:
        self._base = router.path  # the OpenAPI router's path (`OpenAPIConfig.path`)
        router.register(assets_router(f"/{ASSETS}"))
