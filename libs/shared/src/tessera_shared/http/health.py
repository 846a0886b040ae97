"""`/health/live` (the process answers) and `/health/ready` (its dependencies answer).

A part registers one check per dependency; each runs on every readiness call with a timeout,
so readiness follows a dependency going away and coming back without restarting the part.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import msgspec
from litestar import Response, get
from litestar.datastructures import State
from litestar.handlers import HTTPRouteHandler

Check = Callable[[], Awaitable[Mapping[str, Any] | None]]
Status = Literal["up", "down"]


class CheckResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: Status
    latency_ms: float
    error: str | None = None
    """Kind of failure (exception class or `timeout`), never its text: it may hold secrets."""
    details: dict[str, Any] | None = None
    required: bool = True
    """False for a dependency the part works without for a while (reported, not gating)."""


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    status: Status
    checks: dict[str, CheckResult]


class Liveness(msgspec.Struct, frozen=True):
    status: Status


class HealthChecks:
    """The dependency checks of one part; filled in by its lifespan once clients exist."""

    def __init__(self, timeout: float = 2.0) -> None:
        self.timeout = timeout
        self._checks: dict[str, Check] = {}
        self._optional: set[str] = set()

    def add(self, name: str, check: Check, *, required: bool = True) -> None:
        """`required=False`: the part keeps serving while it is down (e.g. identity buffers its
        events in the outbox while NATS is away), so it is reported but does not make the part
        unready — which would take every caller down with it."""
        self._checks[name] = check
        if not required:
            self._optional.add(name)

    async def run(self) -> Readiness:
        names = list(self._checks)
        results = await asyncio.gather(*(self._run_one(self._checks[n]) for n in names))
        checks = {
            name: msgspec.structs.replace(result, required=False)
            if name in self._optional
            else result
            for name, result in zip(names, results, strict=True)
        }
        up = bool(checks) and all(r.status == "up" for r in checks.values() if r.required)
        return Readiness(status="up" if up else "down", checks=checks)

    async def _run_one(self, check: Check) -> CheckResult:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                details = await check()
        except TimeoutError:
            return CheckResult(status="down", latency_ms=_ms(started), error="timeout")
        except Exception as exc:
            return CheckResult(status="down", latency_ms=_ms(started), error=type(exc).__name__)
        return CheckResult(
            status="up", latency_ms=_ms(started), details=dict(details) if details else None
        )


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def health_routes() -> list[HTTPRouteHandler]:
    """Route handlers reading the `HealthChecks` kept in `app.state.health`."""

    @get("/health/live", include_in_schema=False, cache_control=None, sync_to_thread=False)
    def live() -> Liveness:
        return Liveness(status="up")

    @get("/health/ready", include_in_schema=False)
    async def ready(state: State) -> Response[Readiness]:
        health: HealthChecks = state.health
        result = await health.run()
        return Response(
            result,
            status_code=200 if result.status == "up" else 503,
            headers={"cache-control": "no-store"},
        )

    return [live, ready]
