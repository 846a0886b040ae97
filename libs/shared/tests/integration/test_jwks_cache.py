"""The verifier's adapters against real servers: the JWKS over HTTP, revocation in Redis."""

import asyncio
import base64
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_shared.contracts.tokens import AccessClaims, family_key
from tessera_shared.devservers import free_port
from tessera_shared.errors import TesseraError
from tessera_shared.redis import make_redis
from tessera_shared.testing.tokens import access_claims as token_claims
from tessera_shared.tokens import AccessTokenVerifier, JwksCache, RevocationCheck


def public_jwk(kid: str, key: Ed25519PrivateKey) -> dict[str, str]:
    x = base64.urlsafe_b64encode(key.public_key().public_bytes_raw()).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA", "use": "sig"}


class JwksServer:
    """Serves `/.well-known/jwks.json` from `keys`, counting requests; on its own thread."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/.well-known/jwks.json"
        self.keys: dict[str, Ed25519PrivateKey] = {}
        self.status = 200
        self.body: bytes | None = None
        """Answer with these bytes instead of the key set."""
        self.requests = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    def start(self) -> None:
        if not self._thread.is_alive():
            self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
            self._runner = None

    def close(self) -> None:
        self.stop()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/.well-known/jwks.json", self._jwks)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _jwks(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.body is not None:
            return web.Response(body=self.body, status=self.status)
        keys = [public_jwk(kid, key) for kid, key in self.keys.items()]
        return web.json_response({"keys": keys}, status=self.status)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sign(key: Ed25519PrivateKey, kid: str) -> str:
    return jwt.encode(token_claims(), key, algorithm="EdDSA", headers={"kid": kid, "typ": "at+jwt"})


@pytest.fixture
def server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.keys["k1"] = Ed25519PrivateKey.generate()
    server.start()
    yield server
    server.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def cache(server: JwksServer, clock: Clock) -> AsyncIterator[JwksCache]:
    cache = JwksCache(server.url, http_timeout_s=1, min_refresh_s=30, max_age_s=600, clock=clock)
    yield cache
    await cache.aclose()


@pytest.fixture
def verifier(cache: JwksCache) -> AccessTokenVerifier:
    return AccessTokenVerifier(cache, issuer="tessera", audience="tessera")


async def assert_code(verifier: AccessTokenVerifier, token: str, code: str) -> None:
    with pytest.raises(TesseraError) as refused:
        await verifier.verify(token)
    assert refused.value.code == code


async def test_keys_are_fetched_once_and_then_served_from_the_cache(server, verifier):
    token = sign(server.keys["k1"], "k1")
    for _ in range(5):
        await verifier.verify(token)
    assert server.requests == 1


async def test_nothing_is_fetched_before_the_first_token(server, cache):
    assert server.requests == 0


async def test_an_unknown_kid_refetches_and_finds_a_new_key(server, verifier, clock):
    await verifier.verify(sign(server.keys["k1"], "k1"))
    server.keys["k2"] = Ed25519PrivateKey.generate()
    clock.now += 30
    await verifier.verify(sign(server.keys["k2"], "k2"))
    assert server.requests == 2


async def test_unknown_kids_refetch_at_most_once_per_min_refresh(server, verifier, clock):
    await verifier.verify(sign(server.keys["k1"], "k1"))
    bogus = Ed25519PrivateKey.generate()
    for n in range(20):
        await assert_code(verifier, sign(bogus, f"bogus-{n}"), "token_invalid")
    assert server.requests == 1
    clock.now += 29
    await assert_code(verifier, sign(bogus, "bogus-x"), "token_invalid")
    assert server.requests == 1
    clock.now += 1
    await assert_code(verifier, sign(bogus, "bogus-y"), "token_invalid")
    assert server.requests == 2


async def test_concurrent_unknown_kids_share_one_fetch(server, verifier):
    bogus = Ed25519PrivateKey.generate()
    tokens = [sign(bogus, f"bogus-{n}") for n in range(30)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(r, TesseraError) and r.code == "token_invalid" for r in results)
    assert server.requests == 1


async def test_an_unreachable_jwks_is_service_unavailable(server, verifier):
    server.stop()
    await assert_code(verifier, sign(server.keys["k1"], "k1"), "service_unavailable")


@pytest.mark.parametrize(("status", "body"), [(500, None), (200, b"<html>"), (200, b'{"k": 1}')])
async def test_a_jwks_answering_nonsense_is_service_unavailable(server, verifier, status, body):
    server.status = status
    server.body = body
    await assert_code(verifier, sign(server.keys["k1"], "k1"), "service_unavailable")


async def test_a_failed_fetch_is_retried_after_a_short_pause(server, verifier, clock):
    token = sign(server.keys["k1"], "k1")
    server.stop()
    await assert_code(verifier, token, "service_unavailable")
    server.start()
    await assert_code(verifier, token, "service_unavailable")
    assert server.requests == 0
    clock.now += 1
    await verifier.verify(token)
    assert server.requests == 1


async def test_known_keys_keep_verifying_while_the_jwks_is_down(server, verifier, clock):
    token = sign(server.keys["k1"], "k1")
    await verifier.verify(token)
    server.stop()
    clock.now += 3600
    await verifier.verify(token)
    clock.now += 5
    await verifier.verify(token)


async def test_a_key_removed_from_the_jwks_stops_verifying_once_the_set_is_old(
    server, verifier, clock
):
    old = server.keys["k1"]
    await verifier.verify(sign(old, "k1"))
    server.keys = {"k2": Ed25519PrivateKey.generate()}
    clock.now += 599
    await verifier.verify(sign(old, "k1"))
    clock.now += 1
    await assert_code(verifier, sign(old, "k1"), "token_invalid")
    assert server.requests == 2


async def test_a_remembered_token_stops_verifying_when_its_key_leaves_the_jwks(
    server, cache, clock
):
    verifier = AccessTokenVerifier(cache, issuer="tessera", audience="tessera", cache_size=10)
    token = sign(server.keys["k1"], "k1")
    await verifier.verify(token)
    server.keys = {"k2": Ed25519PrivateKey.generate()}
    clock.now += 599
    await verifier.verify(token)
    clock.now += 1
    await assert_code(verifier, token, "token_invalid")


async def test_a_remembered_token_stops_verifying_when_its_kid_gets_another_key(
    server, cache, clock
):
    verifier = AccessTokenVerifier(cache, issuer="tessera", audience="tessera", cache_size=10)
    token = sign(server.keys["k1"], "k1")
    await verifier.verify(token)
    server.keys = {"k1": Ed25519PrivateKey.generate()}
    clock.now += 600
    await assert_code(verifier, token, "token_invalid")


def access_claims(**changes: Any) -> AccessClaims:
    return AccessClaims(**token_claims(**changes))


async def test_a_session_is_active_while_its_family_exists(redis_url, test_id):
    redis = make_redis(redis_url)
    prefix = f"t{test_id}:"
    check = RevocationCheck(redis, prefix)
    session = access_claims()
    try:
        assert not await check.is_active(session)
        key = family_key(prefix, session.sub, session.sid)
        await redis.hset(key, mapping={"v": "1"})
        await redis.expire(key, 60)
        assert await check.is_active(session)
        assert not await RevocationCheck(redis, f"other{test_id}:").is_active(session)
        assert not await check.is_active(access_claims(sub=session.sub))
        await redis.delete(key)
        assert not await check.is_active(session)
    finally:
        await redis.aclose()


async def test_a_revocation_check_without_redis_is_service_unavailable():
    redis = make_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(TesseraError) as unavailable:
            await RevocationCheck(redis, "tessera:").is_active(access_claims())
        assert unavailable.value.code == "service_unavailable"
    finally:
        await redis.aclose()
