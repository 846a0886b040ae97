"""Stand-ins for the identity and session services: real HTTP servers on free ports."""

import asyncio
import base64
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_gateway.config import GatewaySettings
from tessera_shared.testing.threaded_server import ThreadedServer


class Upstream(ThreadedServer):
    """An HTTP server that records requests and answers as the test configures it."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(port)
        self.ready = True
        self.delay = 0.0
        self.seen: list[web.Request] = []
        self.bodies: list[bytes] = []
        self.signing_keys: dict[str, Ed25519PrivateKey] = {}
        """Keys whose public halves `GET /.well-known/jwks.json` lists, as the session service."""
        self.jwks_requests = 0
        self.openapi: dict[str, Any] | None = None
        """What `GET /schema/openapi.json` serves, as the services do; None: a 404."""

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/health/ready", self._ready)
        app.router.add_get("/.well-known/jwks.json", self._jwks)
        app.router.add_get("/schema/openapi.json", self._openapi)
        app.router.add_route("*", "/{tail:.*}", self._echo)

    async def _ready(self, request: web.Request) -> web.Response:
        status = 200 if self.ready else 503
        checks = {"db": {"status": "up" if self.ready else "down", "latency_ms": 1.0}}
        return web.json_response(
            {"status": "up" if self.ready else "down", "checks": checks}, status=status
        )

    async def _jwks(self, request: web.Request) -> web.Response:
        self.jwks_requests += 1
        keys = []
        for kid, key in self.signing_keys.items():
            raw = key.public_key().public_bytes_raw()
            x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
            keys.append({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "alg": "EdDSA"})
        # As the session service: clients and the gateway's verifier may cache the keys.
        return web.json_response({"keys": keys}, headers={"cache-control": "public, max-age=300"})

    async def _openapi(self, request: web.Request) -> web.Response:
        if self.openapi is None:
            return web.json_response({"code": "not_found"}, status=404)
        return web.json_response(self.openapi)

    async def _echo(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.delay)
        self.seen.append(request)
        self.bodies.append(await request.read())
        response = web.json_response({"path": request.path}, status=201)
        response.headers.add("Set-Cookie", "a=1; HttpOnly")
        response.headers.add("Set-Cookie", "b=2; HttpOnly")
        response.headers["X-Internal-Secret"] = "must-not-leak"
        return response


@pytest.fixture
def identity_upstream() -> Iterator[Upstream]:
    upstream = Upstream()
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def session_upstream() -> Iterator[Upstream]:
    upstream = Upstream()
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture
def gateway_settings(
    redis_url: str, test_id: str, identity_upstream: Upstream, session_upstream: Upstream
) -> Callable[..., GatewaySettings]:
    """Settings of a gateway in front of the stand-ins, isolated by this test's Redis prefixes."""

    def make(**overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "identity_url": identity_upstream.url,
            "session_url": session_upstream.url,
            "upstream_timeout_s": 0.5,
            "api_key_prefix": f"t{test_id}:apikey:",
            "rate_limit_prefix": f"t{test_id}:rl:",
            **overrides,
        }
        return GatewaySettings(**values)

    return make
