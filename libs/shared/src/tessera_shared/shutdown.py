"""Shutdown steps that cannot hang the process: each gets a deadline, then we move on."""

import asyncio
import logging
from collections.abc import Awaitable

log = logging.getLogger("tessera.shutdown")


async def within(step: str, closing: Awaitable[object], seconds: float = 5.0) -> None:
    """Await `closing` for at most `seconds`; a step that overruns or fails is logged and left."""
    try:
        await asyncio.wait_for(closing, seconds)
    except TimeoutError:
        log.warning("shutdown step %r did not finish within %ss; going on", step, seconds)
    except Exception as exc:
        log.warning("shutdown step %r failed (%s); going on", step, type(exc).__name__)
