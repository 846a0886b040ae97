"""Client cost of one hop to a service: aiohttp (`upstream.exchange`) or `http1.exchange`.

    .venv/bin/python benchmarks/upstream_client_bench.py [--seconds 4] [--rounds 3] [--tasks 32]
        [--rate REQUESTS_PER_S] [--loop uvloop|asyncio] [--no-pin]

Starts one upstream (granian, 1 worker, a small litestar app answering `POST /v1/auth/refresh`
with ~300 bytes of JSON and a set-cookie, like a refresh), then 32 tasks send that request in a
loop through each client in turn, the order alternating per round, and prints requests/s and
the client process's CPU seconds per 10,000 requests: the figure that matters, the gateway's
core being shared. The client runs on the first allowed CPU, the server on the second (when
there are two). The event loop is uvloop by default, as granian picks it for the gateway.
`--rate` offers a fixed load instead, below what either client saturates at: the CPU per
request is then compared at equal batching (a saturated loop handles more events per wake-up).
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

from litestar import Litestar, get, post
from litestar.datastructures import Cookie
from litestar.response import Response

from tessera_gateway.adapters import http1, upstream
from tessera_gateway.adapters.upstream import Answer
from tessera_gateway.config import GatewaySettings
from tessera_gateway.proxy import RELAYED_RESPONSE_HEADERS
from tessera_shared.devservers import free_port
from tessera_shared.devservers.process import die_with_parent

REFRESH_ANSWER = (
    b'{"access_token":"eyJhbGciOiJFZERTQSIsImtpZCI6IjIwMjQtMDEifQ.eyJzdWIiOiJ1c3JfMDFIWjNQ'
    b'MEtQWjVIWlRHNkQ0RjdYWjlNNCIsImV4cCI6MTcwMDAwMDkwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWdu",'
    b'"token_type":"Bearer","expires_in":900,"refresh_expires_in":2592000,'
    b'"session_id":"ses_01HZ3P0KPZ5HZTG6D4F7XZ9M4B","user_id":"usr_01HZ3P0KPZ5HZTG6D4F7XZ9M4"}'
)
REQUEST_BODY = b'{"refresh_token":"rt_01HZ3P0KPZ5HZTG6D4F7XZ9M4C.k9Jq2mZ8xV4wT1sR7pL3nB6yH0"}'
PATH = "/v1/auth/refresh"
# What `proxy.relay` forwards for a browser's refresh.
HEADERS = {
    "accept": "application/json",
    "accept-language": "en-GB,en;q=0.9",
    "content-type": "application/json",
    "cookie": "tessera_refresh=rt_01HZ3P0KPZ5HZTG6D4F7XZ9M4C.k9Jq2mZ8xV4wT1sR7pL3nB6yH0",
    "user-agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "x-request-id": "01HZ3P0KPZ5HZTG6D4F7XZ9M4E",
    "x-forwarded-for": "203.0.113.7",
    "x-forwarded-proto": "https",
}


@post(PATH, status_code=200)
async def refresh() -> Response[bytes]:
    return Response(
        REFRESH_ANSWER,
        media_type="application/json",
        headers={"cache-control": "no-store"},
        cookies=[
            Cookie(
                key="tessera_refresh",
                value="rt_01HZ3P0KPZ5HZTG6D4F7XZ9M4D.q8Wn5cX2vB7mK4jH1gF6dS3a",
                path="/v1/auth",
                httponly=True,
                secure=True,
                samesite="strict",
                max_age=2592000,
            )
        ],
    )


@get("/ready")
async def ready() -> str:
    return "ok"


def upstream_app() -> Litestar:
    """The stand-in service (granian's factory)."""
    return Litestar([refresh, ready], openapi_config=None)


def start_upstream(port: int, cpu: int | None) -> subprocess.Popen[bytes]:
    def setup() -> None:
        die_with_parent()
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})  # granian's worker inherits it

    here = Path(__file__).resolve().parent
    command = [
        *(sys.executable, "-m", "granian", "--interface", "asgi", "--factory"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1", "--no-ws"),
        *("--log-level", "warning", "--working-dir", str(here)),
        "upstream_client_bench:upstream_app",
    ]
    server = subprocess.Popen(command, cwd=here, preexec_fn=setup, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"granian exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=1):
                return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise TimeoutError("granian did not start within 30 s")


Send = Callable[[], Awaitable[Answer]]


async def aiohttp_client(base: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    client = upstream.make_client(GatewaySettings())

    def send() -> Awaitable[Answer]:
        return upstream.exchange(
            client,
            "POST",
            base + PATH,
            body=REQUEST_BODY,
            headers=HEADERS,
            relayed=RELAYED_RESPONSE_HEADERS,
        )

    return send, client.close


async def http1_client(base: str) -> tuple[Send, Callable[[], Awaitable[None]]]:
    settings = GatewaySettings()
    pool = http1.Http1Pool(
        limit=settings.upstream_connections,
        timeout_s=settings.upstream_timeout_s,
        upstreams=[base],
    )

    def send() -> Awaitable[Answer]:
        return http1.exchange(
            pool,
            "POST",
            base + PATH,
            body=REQUEST_BODY,
            headers=HEADERS,
            relayed=RELAYED_RESPONSE_HEADERS,
        )

    return send, pool.close


CLIENTS = {"aiohttp": aiohttp_client, "http1": http1_client}


async def measure(
    kind: str, base: str, seconds: float, tasks: int, rate: float
) -> tuple[float, float]:
    """(requests per second, client CPU seconds per 10,000 requests) after a warm-up."""
    send, close = await CLIENTS[kind](base)
    try:
        answer = await send()
        if answer.status != 200 or not any(name == "set-cookie" for name, _ in answer.headers):
            raise RuntimeError(f"{kind}: unexpected answer {answer!r}")
        await run(send, 0.5, tasks, rate)  # every connection open, caches warm
        cpu, wall = time.process_time(), time.perf_counter()
        done = await run(send, seconds, tasks, rate)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await close()
    return done / wall, cpu / done * 10_000


async def run(send: Send, seconds: float, tasks: int, rate: float) -> int:
    """Requests answered in `seconds`, sent as fast as answered or at `rate` per second."""
    loop = asyncio.get_running_loop()
    done = 0
    stop = False

    async def worker(index: int) -> None:
        nonlocal done
        interval = tasks / rate if rate else 0.0
        due = loop.time() + index * interval / tasks
        while not stop:
            if interval:
                due += interval
                if (delay := due - loop.time()) > 0:
                    await asyncio.sleep(delay)
            await send()
            done += 1

    def finish() -> None:
        nonlocal stop
        stop = True

    loop.call_later(seconds, finish)
    await asyncio.gather(*(worker(index) for index in range(tasks)))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tasks", type=int, default=32)
    parser.add_argument(
        "--rate", type=float, default=0.0, help="requests/s to offer (default: as fast as answered)"
    )
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    parser.add_argument("--no-pin", action="store_true", help="leave CPU placement to the OS")
    options = parser.parse_args()

    cpus = sorted(os.sched_getaffinity(0))
    pinned = not options.no_pin and len(cpus) >= 2
    port = free_port()
    server = start_upstream(port, cpus[1] if pinned else None)
    if pinned:
        os.sched_setaffinity(0, {cpus[0]})
    base = f"http://127.0.0.1:{port}"
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in CLIENTS}
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if options.loop == "uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    print(
        f"{options.tasks} tasks, {options.seconds:g} s per run, {options.loop}, "
        + (f"{options.rate:g} req/s offered, " if options.rate else "")
        + (f"client on CPU {cpus[0]}, server on CPU {cpus[1]}" if pinned else "not pinned")
    )
    print(f"{'client':<8} {'round':>5} {'req/s':>8} {'CPU s/10k req':>14}")
    try:
        for round_ in range(1, options.rounds + 1):
            order = list(CLIENTS) if round_ % 2 else list(reversed(CLIENTS))
            for kind in order:
                with asyncio.Runner(loop_factory=factory) as runner:
                    rate, cpu = runner.run(
                        measure(kind, base, options.seconds, options.tasks, options.rate)
                    )
                results[kind].append((rate, cpu))
                print(f"{kind:<8} {round_:>5} {rate:>8.0f} {cpu:>14.3f}")
    finally:
        server.terminate()
        server.wait(15)
    print("median:")
    for kind, rows in results.items():
        rate = statistics.median(row[0] for row in rows)
        cpu = statistics.median(row[1] for row in rows)
        print(f"{kind:<8} {'':>5} {rate:>8.0f} {cpu:>14.3f}")
    base_cpu = statistics.median(row[1] for row in results["aiohttp"])
    new_cpu = statistics.median(row[1] for row in results["http1"])
    print(f"http1 client CPU per request: {new_cpu / base_cpu:.0%} of aiohttp's")


if __name__ == "__main__":
    main()
