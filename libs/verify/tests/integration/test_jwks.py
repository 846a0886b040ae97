"""The JWKS cache against a real HTTP server: caching rules, outages, stampedes, key rotation."""

import asyncio
import os
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_verify import AsyncVerifier, VerificationError, Verifier

from ..helpers import AUDIENCE, ISSUER, AuthServer, Clock, sign

pytestmark = pytest.mark.integration


def make(server: AuthServer, clock: Clock | None = None, **options: Any) -> Verifier:
    if clock is not None:
        options["clock"] = clock
    return Verifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=server.jwks_url, **options)


def make_async(server: AuthServer, clock: Clock | None = None, **options: Any) -> AsyncVerifier:
    if clock is not None:
        options["clock"] = clock
    return AsyncVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=server.jwks_url, **options)


def reason(verifier: Verifier, token: str) -> str:
    with pytest.raises(VerificationError) as refused:
        verifier.verify(token)
    return refused.value.reason


def test_nothing_is_fetched_before_the_first_token_then_once(server):
    verifier = make(server)
    assert server.jwks_requests == 0
    for _ in range(5):
        verifier.verify(sign(server.keys["k1"]))
    assert server.jwks_requests == 1


@pytest.mark.parametrize(
    ("cache_control", "kept_s"),
    [
        ("public, max-age=120", 120),
        ("max-age=5", 60),  # below the minimum
        ("public, max-age=9999999", 86_400),  # above the maximum
        (None, 300),  # the default
        ("no-store", 60),
        ("no-cache, max-age=600", 60),
        ("s-maxage=900", 300),  # for shared caches, not us
    ],
)
def test_the_key_set_is_kept_for_its_max_age_within_bounds(server, cache_control, kept_s):
    server.cache_control = cache_control
    clock = Clock()
    verifier = make(server, clock)
    token = sign(server.keys["k1"])
    verifier.verify(token)
    clock.now += kept_s - 0.5
    verifier.verify(token)
    assert server.jwks_requests == 1
    clock.now += 0.5
    verifier.verify(token)
    assert server.jwks_requests == 2


def test_the_bounds_are_settings(server):
    server.cache_control = "max-age=5"
    clock = Clock()
    verifier = make(server, clock, jwks_min_age_s=1, jwks_max_age_s=10)
    verifier.verify(sign(server.keys["k1"]))
    clock.now += 5
    verifier.verify(sign(server.keys["k1"]))
    assert server.jwks_requests == 2


def test_an_unknown_kid_refetches_and_finds_a_new_key(server):
    clock = Clock()
    verifier = make(server, clock)
    verifier.verify(sign(server.keys["k1"]))
    server.keys["k2"] = Ed25519PrivateKey.generate()
    clock.now += 30
    assert verifier.verify(sign(server.keys["k2"], "k2")).sub
    assert server.jwks_requests == 2


def test_unknown_kids_refetch_at_most_once_per_min_refresh(server):
    clock = Clock()
    verifier = make(server, clock)
    verifier.verify(sign(server.keys["k1"]))
    bogus = Ed25519PrivateKey.generate()
    for n in range(20):
        assert reason(verifier, sign(bogus, f"bogus-{n}")) == "unknown_key"
    assert server.jwks_requests == 1
    clock.now += 29
    assert reason(verifier, sign(bogus, "bogus-x")) == "unknown_key"
    assert server.jwks_requests == 1
    clock.now += 1
    assert reason(verifier, sign(bogus, "bogus-y")) == "unknown_key"
    assert server.jwks_requests == 2


def test_concurrent_threads_share_one_fetch(server):
    server.jwks_delay_s = 0.3
    verifier = make(server)
    token = sign(server.keys["k1"])
    results: list[object] = []
    start = threading.Barrier(16)

    def one() -> None:
        start.wait()
        try:
            results.append(verifier.verify(token).sub)
        except VerificationError as error:
            results.append(error)

    threads = [threading.Thread(target=one) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 16
    assert all(isinstance(result, str) for result in results)
    assert server.jwks_requests == 1


async def test_concurrent_tasks_share_one_fetch(server):
    server.jwks_delay_s = 0.3
    verifier = make_async(server)
    bogus = Ed25519PrivateKey.generate()
    tokens = [sign(server.keys["k1"]) for _ in range(10)] + [
        sign(bogus, f"bogus-{n}") for n in range(10)
    ]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert all(not isinstance(result, BaseException) for result in results[:10])
    assert all(
        isinstance(result, VerificationError) and result.reason == "unknown_key"
        for result in results[10:]
    )
    assert server.jwks_requests == 1


def test_a_fetch_does_not_hold_up_tokens_of_known_keys(server):
    clock = Clock()
    verifier = make(server, clock)
    known = sign(server.keys["k1"])
    verifier.verify(known)
    server.jwks_delay_s = 1.0
    clock.now += 30
    fetching = threading.Thread(target=lambda: reason(verifier, sign(server.keys["k1"], "new")))
    fetching.start()
    time.sleep(0.1)
    started = time.monotonic()
    verifier.verify(known)
    assert time.monotonic() - started < 0.5
    fetching.join(5)


def test_an_unreachable_jwks_is_unavailable(server):
    server.stop()
    assert reason(make(server), sign(server.keys["k1"])) == "unavailable"


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, None), (302, None), (200, b"<html>"), (200, b'{"k": 1}'), (200, b"[" * 5000)],
)
def test_a_jwks_answering_nonsense_is_unavailable(server, status, body):
    server.jwks_status = status
    server.jwks_body = body
    assert reason(make(server), sign(server.keys["k1"])) == "unavailable"


def test_a_slow_jwks_is_unavailable_after_the_timeout(server):
    server.jwks_delay_s = 1.0
    started = time.monotonic()
    assert reason(make(server, timeout_s=0.2), sign(server.keys["k1"])) == "unavailable"
    assert time.monotonic() - started < 0.9


def test_a_huge_jwks_is_refused(server):
    server.jwks_body = b'{"keys": [], "pad": "' + b"x" * (2 << 20) + b'"}'
    assert reason(make(server), sign(server.keys["k1"])) == "unavailable"


def test_a_failed_fetch_is_retried_after_a_short_pause(server):
    clock = Clock()
    verifier = make(server, clock)
    token = sign(server.keys["k1"])
    server.jwks_status = 503
    assert reason(verifier, token) == "unavailable"
    server.jwks_status = 200
    assert reason(verifier, token) == "unavailable"
    assert server.jwks_requests == 1
    clock.now += 1
    assert verifier.verify(token).sub
    assert server.jwks_requests == 2


def test_known_keys_keep_verifying_while_the_jwks_is_down(server):
    clock = Clock()
    verifier = make(server, clock)
    token = sign(server.keys["k1"])
    verifier.verify(token)
    server.stop()
    for _ in range(3):
        clock.now += 86_400
        assert verifier.verify(token).sub
    assert reason(verifier, sign(server.keys["k1"], "k9")) == "unavailable"


async def test_known_keys_keep_verifying_while_the_jwks_is_down_async(server):
    clock = Clock()
    verifier = make_async(server, clock)
    token = sign(server.keys["k1"])
    await verifier.verify(token)
    server.stop()
    clock.now += 86_400
    assert (await verifier.verify(token)).sub
    with pytest.raises(VerificationError) as refused:
        await verifier.verify(sign(server.keys["k1"], "k9"))
    assert refused.value.reason == "unavailable"


def test_a_key_removed_from_the_jwks_stops_verifying_once_the_set_is_old(server):
    clock = Clock()
    verifier = make(server, clock)
    old = server.keys["k1"]
    verifier.verify(sign(old))
    server.keys = {"k2": Ed25519PrivateKey.generate()}
    clock.now += 299
    verifier.verify(sign(old))
    clock.now += 1
    assert reason(verifier, sign(old)) == "unknown_key"


class Rotation:
    """Signs tokens with the current key while `rotate` publishes a new key, waits for the key
    set's max-age, signs with the new one, then withdraws the old one (the session service's
    `keys rotate`, shortened: max-age 0.3 s). Tokens of the old key are still presented until
    it leaves (issued before the switch, still unexpired)."""

    def __init__(self, server: AuthServer) -> None:
        self.server = server
        server.cache_control = None  # so the verifiers' default age applies: 0.3 s
        self.current = ("k1", server.keys["k1"])
        self.previous: tuple[str, Ed25519PrivateKey] | None = None
        self.done = threading.Event()

    def token(self, n: int) -> str:
        kid, key = self.previous if self.previous and n % 3 == 0 else self.current
        return sign(key, kid)

    def rotate(self) -> None:
        time.sleep(0.6)
        new = ("k2", Ed25519PrivateKey.generate())
        self.server.keys[new[0]] = new[1]  # published
        time.sleep(0.6)  # > the key set's age (0.3 s): every verifier has refetched by now
        self.previous, self.current = self.current, new  # signing with the new key
        time.sleep(0.6)
        self.previous = None  # old tokens expired: nobody presents them any more
        del self.server.keys["k1"]  # withdrawn
        time.sleep(0.6)
        self.done.set()


AGES = {"jwks_default_age_s": 0.3, "jwks_min_age_s": 0.3, "min_refresh_s": 0.1}


def test_a_key_rotation_gives_zero_failures_across_threads(server):
    rotation = Rotation(server)
    verifier = make(server, **AGES)
    failures: list[str] = []
    counts = [0] * 4

    def verify_loop(worker: int) -> None:
        n = 0
        while not rotation.done.is_set():
            try:
                verifier.verify(rotation.token(n))
            except VerificationError as error:
                failures.append(error.reason)
            n += 1
        counts[worker] = n

    workers = [threading.Thread(target=verify_loop, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    rotation.rotate()
    for worker in workers:
        worker.join(10)
    assert failures == []
    assert sum(counts) > 1000
    # ~2.4 s with a key set kept 0.3 s: about 8 fetches, not one per token
    assert 4 <= server.jwks_requests <= 16
    time.sleep(0.35)
    assert reason(verifier, sign(server.keys["k2"], "k1")) == "unknown_key"


async def test_a_key_rotation_gives_zero_failures_async(server):
    rotation = Rotation(server)
    verifier = make_async(server, **AGES)
    failures: list[str] = []
    rotating = asyncio.get_running_loop().run_in_executor(None, rotation.rotate)
    n = 0
    while not rotation.done.is_set():
        try:
            await verifier.verify(rotation.token(n))
        except VerificationError as error:
            failures.append(error.reason)
        n += 1
        if n % 50 == 0:
            await asyncio.sleep(0)
    await rotating
    assert failures == []
    assert n > 1000
    assert 4 <= server.jwks_requests <= 16


def test_proxy_settings_of_the_environment_are_not_used(server):
    # In a new process: urllib reads the proxy variables when the opener is built (at import).
    env = {
        **{k: v for k, v in os.environ.items() if k.lower() != "no_proxy"},
        **dict.fromkeys(["http_proxy", "HTTP_PROXY", "https_proxy"], "http://127.0.0.1:9"),
    }
    script = (
        "import sys; from tessera_verify import Verifier; "
        "v = Verifier(issuer=sys.argv[1], audience=sys.argv[1], jwks_url=sys.argv[2]); "
        "print(v.verify(sys.argv[3]).iss)"
    )
    token = sign(server.keys["k1"])
    done = subprocess.run(
        [sys.executable, "-c", script, ISSUER, server.jwks_url, token],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.stdout.strip() == ISSUER, done.stderr[-500:]
    assert server.jwks_requests == 1
