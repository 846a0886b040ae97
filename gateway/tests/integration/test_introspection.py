"""RFC 7662 introspection and RFC 8414 metadata, answered by the gateway: tokens signed here with
the key the session stand-in publishes, sessions made live in real Redis, API keys in real Redis.
"""

import base64
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tessera_gateway.app import create_app
from tessera_gateway.bootstrap import api_key_store, create_api_key
from tessera_gateway.config import GatewaySettings
from tessera_shared.redis import make_redis
from tessera_shared.testing.tokens import access_claims

from .test_access_tokens import KEY, KID, Session, challenge_token, live, sign
from .test_rate_limits import with_peer_header

FORM = {"content-type": "application/x-www-form-urlencoded"}
BASIC = 'Basic realm="tessera"'
ACTIVE_FIELDS = {"active", "sub", "sid", "exp", "iat", "client_id", "amr", "token_type"}
ACTIVE_FIELDS |= {"iss", "aud"}


@pytest.fixture
def prefix(test_id: str) -> str:
    return f"t{test_id}:"


@pytest.fixture
def settings(gateway_settings, session_upstream, prefix) -> GatewaySettings:
    session_upstream.signing_keys[KID] = KEY
    settings: GatewaySettings = gateway_settings(
        session_jwks_url=f"{session_upstream.url}/.well-known/jwks.json",
        session_key_prefix=prefix,
        upstream_timeout_s=2,
    )
    return settings


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = make_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def client(settings: GatewaySettings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(with_peer_header(create_app(settings))) as test_client:
        yield test_client


@pytest.fixture
async def api_key(settings: GatewaySettings) -> str:
    return await create_api_key(settings, "orders-service")


def basic(user: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"authorization": f"Basic {credentials}"}


def as_key(api_key: str) -> dict[str, str]:
    return {"x-api-key": api_key}


def as_basic(api_key: str) -> dict[str, str]:
    return basic(api_key[:12], api_key)


async def introspect(client, token: str | None, **headers: str) -> Any:
    body = {} if token is None else {"token": token}
    return await client.post("/oauth2/introspect", data=body, headers=headers)


@pytest.mark.parametrize("auth", [as_key, as_basic], ids=["x-api-key", "basic"])
async def test_a_live_access_token_is_active_with_its_claims(
    client, redis, prefix, api_key, session_upstream, identity_upstream, auth
):
    session = await live(redis, Session(prefix, aid="ios", client_id="ios", amr=["pwd", "totp"]))

    answer = await introspect(client, session.token, **auth(api_key))

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"] == "application/json"
    claims = session.claims
    assert answer.json() == {
        "active": True,
        "sub": claims["sub"],
        "sid": claims["sid"],
        "exp": claims["exp"],
        "iat": claims["iat"],
        "client_id": "ios",
        "amr": ["pwd", "totp"],
        "token_type": "Bearer",
        "iss": "tessera",
        "aud": "tessera",
    }
    assert answer.headers["ratelimit-limit"] == "600"
    # Answered by the gateway: no hop to a service.
    assert session_upstream.seen == identity_upstream.seen == []


async def test_a_token_signed_before_client_id_existed_names_its_aid_as_client_id(
    client, redis, prefix, api_key
):
    session = await live(redis, Session(prefix, aid="web"))
    assert "client_id" not in session.claims

    answer = await introspect(client, session.token, **as_key(api_key))

    assert set(answer.json()) == ACTIVE_FIELDS
    assert answer.json()["client_id"] == "web"


async def test_after_logout_the_token_is_inactive_at_once(client, redis, prefix, api_key):
    session = await live(redis, Session(prefix))
    assert (await introspect(client, session.token, **as_key(api_key))).json()["active"] is True

    await redis.delete(session.family)  # what logout and reuse detection do

    answer = await introspect(client, session.token, **as_key(api_key))
    assert (answer.status_code, answer.json()) == (200, {"active": False})
    assert answer.headers["cache-control"] == "no-store"


def _expired() -> str:
    now = int(time.time())
    return sign(access_claims(iat=now - 960, exp=now - 60), "at+jwt")


def _forged() -> str:
    return sign(access_claims(), "at+jwt", key=Ed25519PrivateKey.generate())


def _unsigned() -> str:
    return jwt.encode(access_claims(), None, algorithm="none", headers={"kid": KID})


def _wrong_audience() -> str:
    return sign(access_claims(aud="elsewhere"), "at+jwt")


NOT_LIVE = {
    "expired": _expired,
    "forged signature": _forged,
    "alg none": _unsigned,
    "other audience": _wrong_audience,
    "MFA challenge token": challenge_token,
    "garbage": lambda: "garbage",
    "three garbage segments": lambda: "a.b.c",
    "far too long": lambda: "x" * 20_000,
}


@pytest.mark.parametrize("make", NOT_LIVE.values(), ids=NOT_LIVE.keys())
async def test_a_token_that_is_not_a_live_access_token_is_inactive_never_an_error(
    client, redis, prefix, api_key, make
):
    token = make()
    if token.count(".") == 2:  # a session for it, so only the token itself is wrong
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.DecodeError:
            claims = {}
        if "sid" in claims:
            family = f"{prefix}{{u:{claims['sub']}}}:fam:{claims['sid']}"
            await redis.hset(family, mapping={"device": "d1"})
            await redis.expire(family, 300)

    answer = await introspect(client, token, **as_basic(api_key))

    assert (answer.status_code, answer.json()) == (200, {"active": False})
    assert answer.headers["cache-control"] == "no-store"


async def test_a_signed_token_whose_session_never_existed_is_inactive(client, prefix, api_key):
    answer = await introspect(client, Session(prefix).token, **as_key(api_key))
    assert answer.json() == {"active": False}


def _wrong_credentials(api_key: str, other: str) -> dict[str, dict[str, str]]:
    return {
        "unknown X-API-Key": as_key("tsk_" + "A" * 43),
        "malformed X-API-Key": as_key("not-a-key"),
        "Basic with an unknown key": as_basic("tsk_" + "B" * 43),
        "Basic naming another key's id": basic(other[:12], api_key),
        "Basic naming the key's name": basic("orders-service", api_key),
        "Basic without a colon": {
            "authorization": "Basic " + base64.b64encode(api_key.encode()).decode()
        },
        "Basic that is no base64": {"authorization": "Basic !!!"},
        "Basic with an empty password": basic(api_key[:12], ""),
    }


async def test_no_credentials_is_a_localized_401_with_the_basic_challenge(client, redis, prefix):
    session = await live(redis, Session(prefix))
    for headers in ({}, {"authorization": f"Bearer {session.token}"}, {"x-api-key": ""}):
        answer = await introspect(client, session.token, **headers, **{"accept-language": "de"})
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == BASIC
        assert answer.json()["code"] == "unauthorized"
        assert answer.json()["message"] == "Eine Anmeldung ist erforderlich."
        assert answer.headers["cache-control"] == "no-store"


async def test_wrong_credentials_are_a_401_api_key_invalid_with_the_basic_challenge(
    client, redis, prefix, settings, api_key
):
    other = await create_api_key(settings, "other-service")
    session = await live(redis, Session(prefix))
    refused = {}
    for what, headers in _wrong_credentials(api_key, other).items():
        answer = await introspect(client, session.token, **headers, **{"accept-language": "fr"})
        refused[what] = (
            answer.status_code,
            answer.json()["code"],
            answer.headers.get("www-authenticate"),
        )
        assert answer.json()["message"] == "La clé d’API n’est pas valide."
    assert refused == dict.fromkeys(refused, (401, "api_key_invalid", BASIC))


async def test_a_revoked_key_no_longer_introspects(client, redis, prefix, settings, api_key):
    session = await live(redis, Session(prefix))
    async with api_key_store(settings) as store:
        await store.revoke(api_key[:12])
    for auth in (as_key, as_basic):
        answer = await introspect(client, session.token, **auth(api_key))
        assert (answer.status_code, answer.json()["code"]) == (401, "api_key_invalid")


async def test_both_ways_of_authenticating_at_once_is_an_invalid_request(client, api_key):
    answer = await introspect(client, "x", **as_key(api_key), **as_basic(api_key))
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")


BAD_REQUESTS: dict[str, dict[str, Any]] = {
    "no token": {"content": b"token_type_hint=access_token", "headers": FORM},
    "an empty token": {"content": b"token=", "headers": FORM},
    "two tokens": {"content": b"token=a&token=b", "headers": FORM},
    "no body": {"headers": FORM},
    "a body that is no UTF-8": {"content": b"token=%FF", "headers": FORM},
    "JSON": {"json": {"token": "x"}},
    "a form without Content-Type": {"content": b"token=x"},
    "multipart": {"files": {"token": ("t", b"x")}},
}


@pytest.mark.parametrize("request_", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
async def test_a_request_that_is_no_form_with_one_token_is_a_localized_400(
    client, api_key, request_
):
    headers = {**request_.pop("headers", {}), **as_key(api_key), "accept-language": "it"}
    answer = await client.post("/oauth2/introspect", headers=headers, **request_)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_request"
    assert answer.json()["message"].startswith("La richiesta non è valida")
    assert "ratelimit-limit" in answer.headers  # counted like any request that authenticated


async def test_a_form_with_a_charset_and_other_parameters_is_fine(client, redis, prefix, api_key):
    session = await live(redis, Session(prefix))
    answer = await client.post(
        "/oauth2/introspect",
        content=f"token_type_hint=access_token&token={session.token}&foo=bar".encode(),
        headers={
            "content-type": "application/x-www-form-urlencoded; charset=UTF-8",
            **as_key(api_key),
        },
    )
    assert answer.json()["active"] is True


async def test_one_key_is_limited_across_ips_and_one_ip_across_keys(
    gateway_settings, settings, session_upstream, prefix
):
    settings = gateway_settings(
        session_jwks_url=settings.session_jwks_url,
        session_key_prefix=prefix,
        rate_limit_introspection_per_minute=3,
        rate_limit_introspection_api_key_per_minute=2,
    )
    one, two, three = [await create_api_key(settings, name) for name in ("1", "2", "3")]
    async with AsyncTestClient(with_peer_header(create_app(settings))) as client:
        by_key = [
            await introspect(client, "t", **as_key(one), **{"x-test-peer": peer})
            for peer in ("203.0.113.1", "203.0.113.2", "203.0.113.3")
        ]
        assert [a.status_code for a in by_key] == [200, 200, 429]
        assert by_key[2].json()["code"] == "rate_limited"
        assert by_key[2].headers["ratelimit-limit"] == "2"
        assert int(by_key[2].headers["retry-after"]) >= 1
        # 203.0.113.1 has used 1 of its 3; each key below stays within its 2.
        by_ip = [
            await introspect(client, "t", **as_basic(key), **{"x-test-peer": "203.0.113.1"})
            for key in (two, three, two)
        ]
        assert [a.status_code for a in by_ip] == [200, 200, 429]
        assert by_ip[2].headers["ratelimit-limit"] == "3"
        # Other routes' groups are not touched.
        jwks = await client.get("/.well-known/jwks.json", headers={"x-test-peer": "203.0.113.1"})
        assert jwks.status_code == 200


async def test_while_redis_is_down_introspection_is_a_503_with_retry_after_never_inactive(
    own_redis, gateway_settings, session_upstream, prefix
):
    session_upstream.signing_keys[KID] = KEY
    settings = gateway_settings(
        redis_url=own_redis.url(),
        session_jwks_url=f"{session_upstream.url}/.well-known/jwks.json",
        session_key_prefix=prefix,
    )
    redis = make_redis(own_redis.url())
    try:
        session = await live(redis, Session(prefix))
    finally:
        await redis.aclose()
    api_key = await create_api_key(settings, "outage")
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await introspect(client, session.token, **as_key(api_key))).json()["active"]
        own_redis.stop()
        started = time.monotonic()
        answer = await introspect(client, session.token, **as_key(api_key))
        assert time.monotonic() - started <= 1.0
        assert (answer.status_code, answer.json()["code"]) == (503, "service_unavailable")
        assert answer.headers["retry-after"] == "2"
    own_redis.start()


async def test_the_key_store_down_is_a_503_with_the_limits_off_too(
    own_redis, gateway_settings, session_upstream, prefix
):
    """Without rate limits the key check is the first to meet Redis down (Basic credentials)."""
    session_upstream.signing_keys[KID] = KEY
    settings = gateway_settings(
        redis_url=own_redis.url(),
        session_jwks_url=f"{session_upstream.url}/.well-known/jwks.json",
        session_key_prefix=prefix,
        rate_limits_enabled=False,
    )
    api_key = await create_api_key(settings, "outage")
    async with AsyncTestClient(create_app(settings)) as client:
        own_redis.stop()
        answer = await introspect(client, Session(prefix).token, **as_basic(api_key))
        assert (answer.status_code, answer.json()["code"]) == (503, "service_unavailable")
    own_redis.start()


# RFC 8414 metadata


async def test_the_metadata_names_the_issuer_jwks_and_introspection_of_this_host(client):
    answer = await client.get(
        "/.well-known/oauth-authorization-server", headers={"host": "auth.example.com:8443"}
    )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=3600"
    assert answer.json() == {
        "issuer": "tessera",
        "jwks_uri": "http://auth.example.com:8443/.well-known/jwks.json",
        "introspection_endpoint": "http://auth.example.com:8443/oauth2/introspect",
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "tessera_api_key"],
        "response_types_supported": [],
        "grant_types_supported": [],
        "service_documentation": "http://auth.example.com:8443/docs",
    }


async def test_the_public_url_setting_and_a_trusted_proxy_s_scheme_make_the_urls(gateway_settings):
    configured = gateway_settings(
        public_url="https://auth.example.com/", token_issuer="https://auth.example.com"
    )
    async with AsyncTestClient(create_app(configured)) as client:
        body = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert body["issuer"] == "https://auth.example.com"
    assert body["introspection_endpoint"] == "https://auth.example.com/oauth2/introspect"
    assert body["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"

    proxied = gateway_settings(trusted_proxies="203.0.113.0/24")
    async with AsyncTestClient(with_peer_header(create_app(proxied))) as client:
        headers = {"x-test-peer": "203.0.113.5", "x-forwarded-proto": "https", "host": "a.example"}
        body = (await client.get("/.well-known/oauth-authorization-server", headers=headers)).json()
        assert body["introspection_endpoint"] == "https://a.example/oauth2/introspect"
        headers["x-test-peer"] = "198.51.100.1"  # not a trusted proxy: its header is not believed
        body = (await client.get("/.well-known/oauth-authorization-server", headers=headers)).json()
        assert body["introspection_endpoint"] == "http://a.example/oauth2/introspect"


async def test_a_host_header_that_is_no_host_is_a_400_without_public_url(client):
    for host in ("evil.example/path", "a b", "x@y"):
        answer = await client.get("/.well-known/oauth-authorization-server", headers={"host": host})
        assert (answer.status_code, answer.json()["code"]) == (400, "bad_request")
