"""The gateway's added latency and its throughput on a cheap route, against real processes.

    .venv/bin/python benchmarks/gateway_bench.py [--seconds 10] [--connections 32]

Starts Redis, the session service and the gateway (as `make run` would), then loads
`GET /.well-known/jwks.json` (served by session from memory) directly and through the gateway
with keep-alive connections, and prints p50/p99 latency and requests per second. Uses wrk when
it is installed (Debian: `apt-get install wrk`; far lighter than a Python load generator),
otherwise an aiohttp loader. Load generator and servers share this machine's cores, so compare
the two rows, not absolutes.
"""

import argparse
import asyncio
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from tessera_shared.devservers import RedisServer, free_port
from tessera_shared.devstack import Part, PartProcess

PATH = "/.well-known/jwks.json"


async def load(url: str, seconds: float, connections: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with client.get(url) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"{url}: HTTP {answer.status}")
                latencies.append(time.perf_counter() - started)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return latencies, len(latencies) / elapsed


def wrk(url: str, seconds: float, connections: int) -> str:
    """p50/p99 and req/s as wrk measures them (one thread, keep-alive)."""
    out = subprocess.run(
        [
            shutil.which("wrk") or "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{int(seconds)}s",
            "--latency",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE)
    rate = re.search(r"Requests/sec:\s+(\S+)", out)
    return f"p50 {p50.group(1) if p50 else '?':>8}   p99 {p99.group(1) if p99 else '?':>8}   " + (
        f"{float(rate.group(1)) if rate else 0:8.0f} req/s"
    )


def row(name: str, latencies: list[float], rate: float) -> str:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    return f"{name:<16} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   {rate:8.0f} req/s"


async def main(seconds: float, connections: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    redis = RedisServer(folder / "redis", free_port(), durable=False)
    redis.start()
    session = Part("session", "tessera_session", "TESSERA_SESSION_", free_port())
    gateway = Part("gateway", "tessera_gateway", "TESSERA_GATEWAY_", free_port())
    env = {
        "TESSERA_SESSION_PORT": str(session.port),
        "TESSERA_SESSION_REDIS_URL": redis.url(),
        "TESSERA_SESSION_SIGNING_KEYS_DIR": str(folder / "keys"),
        "TESSERA_SESSION_LOG_LEVEL": "warning",
        "TESSERA_GATEWAY_PORT": str(gateway.port),
        "TESSERA_GATEWAY_REDIS_URL": redis.url(),
        "TESSERA_GATEWAY_SESSION_URL": f"http://127.0.0.1:{session.port}",
        "TESSERA_GATEWAY_RATE_LIMITS_ENABLED": "false",
        "TESSERA_GATEWAY_LOG_LEVEL": "warning",
    }
    processes = [PartProcess(p, env, folder / "parts.log") for p in (session, gateway)]
    try:
        for process in processes:
            process.start()
        for process in processes:
            await asyncio.to_thread(_wait_live, process)
        direct = f"http://127.0.0.1:{session.port}{PATH}"
        via = f"http://127.0.0.1:{gateway.port}{PATH}"
        await load(direct, 1, connections)  # warm up both paths
        await load(via, 1, connections)
        if shutil.which("wrk"):
            print(f"{'direct':<16} {wrk(direct, seconds, connections)}   (wrk)")
            print(f"{'through gateway':<16} {wrk(via, seconds, connections)}   (wrk)")
        else:
            print(row("direct", *await load(direct, seconds, connections)))
            print(row("through gateway", *await load(via, seconds, connections)))
    finally:
        for process in reversed(processes):
            process.stop()
        redis.stop()


def _wait_live(process: PartProcess) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{process.url}/health/live", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{process.part.name} did not start")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.connections))
