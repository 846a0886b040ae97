"""The API docs pages render in a real browser with the network cut.

Headless Chromium (Debian's `chromium`, driven by Playwright) may reach 127.0.0.1 only: every
other request is aborted and recorded. The pages must still show the API, from the bundle the
parts serve themselves (`tessera_shared.http.docs`). Redoc's sidebar footer names a logo on its
CDN; the page's Content-Security-Policy stops it in the browser, before any request is made.
"""

from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from tessera_shared.testing.browser import chromium_or_skip, headless_chromium

async_api = pytest.importorskip(
    "playwright.async_api", reason="playwright is not installed (the `testing` extra has it)"
)
CHROMIUM = chromium_or_skip()
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


class Visit:
    """What one page load did: requests let through, requests stopped, errors seen."""

    def __init__(self) -> None:
        self.local: list[str] = []
        self.outside: list[str] = []
        self.page_errors: list[str] = []
        self.console_errors: list[str] = []


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator["async_api.Browser"]:
    async with headless_chromium(CHROMIUM) as browser:
        yield browser


async def visit(browser: "async_api.Browser", url: str, operation: str) -> tuple[str, Visit]:
    """Loads `url` offline and waits until Redoc shows `operation`; the page's title heading."""
    seen = Visit()
    page = await browser.new_page()

    async def only_loopback(route: "async_api.Route") -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            seen.local.append(route.request.url)
            await route.continue_()
        else:
            seen.outside.append(route.request.url)
            await route.abort("internetdisconnected")

    await page.route("**/*", only_loopback)
    page.on("pageerror", lambda error: seen.page_errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            seen.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    try:
        await page.goto(url)
        await page.get_by_text(operation, exact=True).first.wait_for()
        heading = await page.locator("h1").first.inner_text()
    finally:
        await page.close()
    return heading, seen


def assert_offline(seen: Visit) -> None:
    assert seen.outside == []
    assert any(url.endswith("/redoc.standalone.js") for url in seen.local), seen.local
    assert seen.page_errors == []
    # The only thing the policy had to stop: Redoc's hard-coded footer logo.
    assert all(REDOC_LOGO in error for error in seen.console_errors), seen.console_errors


async def test_the_gateways_docs_page_renders_the_api_with_no_request_leaving_the_machine(
    suite, browser
):
    assert urlsplit(suite.gateway_url).hostname == "127.0.0.1"
    heading, seen = await visit(browser, f"{suite.gateway_url}/docs", "/v1/users/me")
    assert heading.startswith("Tessera")
    assert_offline(seen)
    assert f"{suite.gateway_url}/openapi.json" in seen.local


async def test_a_services_schema_page_renders_offline_too(suite, browser):
    # One service stands for all: every part's page comes from `build_app`.
    identity = next(p for p in suite.processes if p.part.name == "identity")
    heading, seen = await visit(browser, f"{identity.url}/schema/redoc", "/v1/users/me")
    assert heading.startswith("Tessera identity")
    assert_offline(seen)
    assert f"{identity.url}/schema/openapi.json" in seen.local
