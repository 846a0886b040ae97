"""Headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

Playwright cannot download its own browsers here, so the system one is launched by path; a
test module calling `chromium_or_skip()` at import is skipped when either is missing.
"""

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest


def chromium_or_skip() -> str:
    """The browser's path; skips the calling test module without it or without Playwright."""
    pytest.importorskip(
        "playwright.async_api", reason="playwright is not installed (the `testing` extra has it)"
    )
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip(
            "no chromium on PATH (Debian: apt-get install chromium)", allow_module_level=True
        )
    return path


@asynccontextmanager
async def headless_chromium(executable: str) -> AsyncIterator[Any]:
    """A launched browser (`playwright.async_api.Browser`), closed on exit."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        # Chromium's sandbox refuses to run as root (CI, containers).
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = await playwright.chromium.launch(executable_path=executable, args=args)
        try:
            yield browser
        finally:
            await browser.close()
