"""Refreshes and token verifications per second, against a real Redis started here.

    .venv/bin/python benchmarks/session_bench.py [--seconds 5] [--concurrency 32]

Refresh: the session service's whole refresh (parse, derive the successor, the rotation Lua
script in Redis, read amr, sign a new EdDSA access token), without HTTP. Verification: the
signature and claim checks of an access token (what the session service does per request).
"""

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from tessera_session.adapters.events import NatsSessionEvents
from tessera_session.adapters.families import RedisFamilies
from tessera_session.adapters.keys import KeyRing, generate
from tessera_session.adapters.tokens import TokenIssuer
from tessera_session.bootstrap import own_verifier
from tessera_session.config import SessionSettings
from tessera_session.domain.client import Client
from tessera_session.service.refresh import Refresh
from tessera_session.service.start import SessionStarter
from tessera_shared.devservers import RedisServer, free_port
from tessera_shared.nats import NatsConnection
from tessera_shared.redis import make_redis
from tessera_shared.tokens.verifier import AccessTokenVerifier


async def refreshes(
    starter: SessionStarter, refresh: Refresh, seconds: float, concurrency: int
) -> float:
    done = 0
    deadline = time.perf_counter() + seconds

    async def one_user() -> None:
        nonlocal done
        client = Client(device_id="bench", app_id="bench", ip="127.0.0.1", user_agent="bench")
        tokens = await starter.start(str(uuid.uuid4()), ["pwd"], client)
        while time.perf_counter() < deadline:
            tokens = await refresh.refresh(tokens.refresh_token, client)
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_user() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def verifications(
    issuer: TokenIssuer, verifier: AccessTokenVerifier, seconds: float
) -> float:
    token = issuer.access(
        user_id=str(uuid.uuid4()),
        family_id=str(uuid.uuid4()),
        device="b",
        app="b",
        amr=["pwd"],
        ttl_s=900,
    )
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        await verifier.verify(token)
        done += 1
    return done / (time.perf_counter() - started)


async def main(seconds: float, concurrency: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tessera-bench-"))
    server = RedisServer(folder / "redis", free_port(), durable=False)
    server.start()
    try:
        redis = make_redis(server.url())
        keys = KeyRing([generate(folder / "keys")])
        issuer = TokenIssuer(keys, "tessera", "tessera")
        settings = SessionSettings(issuer="tessera", audience="tessera")
        verifier = own_verifier(keys, settings)
        families = RedisFamilies(
            redis,
            "bench:",
            sliding_s=1209600,
            absolute_s=7776000,
            grace_s=10,
            max_per_user=settings.max_sessions_per_user,
        )
        starter = SessionStarter(families, issuer, access_ttl_s=900)
        events = NatsSessionEvents(NatsConnection("nats://127.0.0.1:9", "bench"), "")
        refresh = Refresh(starter, families, events, refresh_key=b"bench-key")
        rate = await refreshes(starter, refresh, seconds, concurrency)
        print(f"refreshes/s     {rate:10.0f}   ({concurrency} concurrent sessions, one process)")
        print(
            f"verifications/s {await verifications(issuer, verifier, seconds):10.0f}   (one core)"
        )
        await redis.aclose()
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.concurrency))
