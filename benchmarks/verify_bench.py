"""Access-token verifications per second: the suite's verifier and tessera_verify's, one run.

    .venv/bin/python benchmarks/verify_bench.py [--tokens 5000] [--rounds 3] [--profile]

Every token is distinct and freshly signed (so no per-token cache could help), its key already
known (no JWKS fetch): what is measured is parsing, the Ed25519 check and the claim checks, one
core. Verifiers: `tessera_shared.tokens.AccessTokenVerifier` (cache_size=0, keys fixed with
`JwksCache.from_keys`), `tessera_verify.Verifier` and `AsyncVerifier`, and the floor: the bare
Ed25519 `verify` call on the same tokens. Rates are per second of the process's CPU time (one
core). Each round runs them all in turn; the best round of each is shown (on a shared machine
the best is the least disturbed). `--profile` prints
cProfile's top functions of the sync verifier.
"""

import argparse
import asyncio
import base64
import cProfile
import json
import pstats
import sys
import time
import uuid
from collections.abc import Callable, Sequence

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import tessera_shared
from tessera_shared.tokens import AccessTokenVerifier, JwksCache
from tessera_verify import AsyncVerifier, Verifier

KID = "bench-key"
HEADER = base64.urlsafe_b64encode(
    json.dumps({"alg": "EdDSA", "typ": "at+jwt", "kid": KID}).encode()
).rstrip(b"=")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=5000, help="distinct tokens per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the sync verifier")
    return parser.parse_args(argv)


def signed_tokens(key: Ed25519PrivateKey, count: int) -> list[str]:
    """`count` distinct access tokens (as the session service writes them), valid 15 minutes."""
    now = int(time.time())
    tokens = []
    for _ in range(count):
        claims = {
            "iss": "tessera",
            "aud": "tessera",
            "sub": str(uuid.uuid4()),
            "sid": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 900,
            "jti": str(uuid.uuid4()),
            "amr": ["pwd"],
            "did": "device-1",
            "aid": "app-1",
        }
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=")
        signing_input = HEADER + b"." + body
        signature = base64.urlsafe_b64encode(key.sign(signing_input)).rstrip(b"=")
        tokens.append((signing_input + b"." + signature).decode())
    return tokens


def rate(run: Callable[[], None], count: int) -> float:
    """Tokens per second of this process's CPU time: per core, and less disturbed by other
    processes on the machine than wall time."""
    started = time.process_time()
    run()
    return count / (time.process_time() - started)


def measure(tokens: list[str], key: Ed25519PrivateKey, rounds: int) -> dict[str, float]:
    """Best tokens/s of each verifier over `rounds` rounds."""
    public = key.public_key()
    shared = AccessTokenVerifier(
        JwksCache.from_keys({KID: public}), "tessera", "tessera", cache_size=0
    )
    sync = Verifier(issuer="tessera", audience="tessera", keys={KID: public})
    asynchronous = AsyncVerifier(issuer="tessera", audience="tessera", keys={KID: public})
    parts = []
    for token in tokens:
        signing_input, _, signature = token.rpartition(".")
        parts.append((base64.urlsafe_b64decode(signature + "=="), signing_input.encode()))

    def floor() -> None:
        for signature, signed in parts:
            public.verify(signature, signed)

    def run_sync() -> None:
        for token in tokens:
            sync.verify(token)

    async def shared_all() -> None:
        for token in tokens:
            await shared.verify(token)

    async def async_all() -> None:
        for token in tokens:
            await asynchronous.verify(token)

    loop = asyncio.new_event_loop()
    runs: dict[str, Callable[[], None]] = {
        "Ed25519 verify alone (floor)": floor,
        "tessera_shared AccessTokenVerifier": lambda: loop.run_until_complete(shared_all()),
        "tessera_verify Verifier (sync)": run_sync,
        "tessera_verify AsyncVerifier": lambda: loop.run_until_complete(async_all()),
    }
    best = dict.fromkeys(runs, 0.0)
    try:
        for _ in range(rounds):
            for name, run in runs.items():
                best[name] = max(best[name], rate(run, len(tokens)))
    finally:
        loop.close()
    return best


def table(best: dict[str, float]) -> str:
    """tokens/s, µs per token, µs above the bare Ed25519 check, and the ratio to the suite's."""
    baseline = best["tessera_shared AccessTokenVerifier"]
    floor_us = 1e6 / best["Ed25519 verify alone (floor)"]
    lines = [
        f"{'verifier':<38} {'tokens/s':>9} {'µs/token':>9} {'above floor':>12} {'vs shared':>9}"
    ]
    for name, per_s in best.items():
        us = 1e6 / per_s
        above = f"{us - floor_us:.1f} µs"
        lines.append(f"{name:<38} {per_s:>9,.0f} {us:>9.1f} {above:>12} {per_s / baseline:>8.2f}x")
    return "\n".join(lines)


def profile(tokens: list[str], key: Ed25519PrivateKey) -> None:
    """Prints the sync verifier's 12 most expensive functions (own time)."""
    verifier = Verifier(issuer="tessera", audience="tessera", keys={KID: key.public_key()})
    profiler = cProfile.Profile()
    profiler.enable()
    for token in tokens:
        verifier.verify(token)
    profiler.disable()
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(12)


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    options = parse_args(sys.argv[1:] if argv is None else argv)
    key = Ed25519PrivateKey.generate()
    tokens = signed_tokens(key, options.tokens)
    print(f"{options.tokens} distinct tokens, best of {options.rounds} rounds, one core")
    print(f"tessera_shared from {tessera_shared.__file__}")
    best = measure(tokens, key, options.rounds)
    print(table(best))
    if options.profile:
        profile(tokens, key)
    return best


if __name__ == "__main__":
    main()
