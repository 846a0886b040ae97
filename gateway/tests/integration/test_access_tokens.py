"""Access tokens at the gateway: signed here, keys served by the session stand-in's JWKS,
sessions made live by creating their refresh family in real Redis."""

import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from tessera_gateway.app import create_app
from tessera_gateway.config import GatewaySettings
from tessera_shared.contracts.tokens import family_key
from tessera_shared.devservers import free_port
from tessera_shared.redis import make_redis
from tessera_shared.testing.tokens import access_claims, challenge_claims

KID = "k1"
KEY = Ed25519PrivateKey.generate()
PROTECTED = [
    ("POST", "/v1/logout"),
    ("POST", "/v1/logout-all"),
    ("GET", "/v1/sessions"),
    ("DELETE", "/v1/sessions/6f1c"),
    ("GET", "/v1/users/me"),
    ("PATCH", "/v1/users/me/profile"),
    ("POST", "/v1/users/credentials"),
    ("POST", "/v1/users/verify-credential"),
    ("POST", "/v1/users/totp/setup"),
]


class Session:
    """A signed-in session: its access token and the Redis key that keeps it alive."""

    def __init__(self, prefix: str, **changes: Any) -> None:
        self.claims = access_claims(**changes)
        self.family = family_key(prefix, self.claims["sub"], self.claims["sid"])
        self.token = sign(self.claims, "at+jwt")

    @property
    def bearer(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


def sign(claims: dict[str, Any], typ: str, key: Ed25519PrivateKey = KEY) -> str:
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": KID, "typ": typ})


def challenge_token() -> str:
    return sign(challenge_claims(), "mfa-challenge+jwt")


@pytest.fixture
def prefix(test_id):
    return f"t{test_id}:"


@pytest.fixture
def settings(redis_url, prefix, identity_upstream, session_upstream):
    session_upstream.signing_keys[KID] = KEY
    return GatewaySettings(
        redis_url=redis_url,
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
        session_jwks_url=f"{session_upstream.url}/.well-known/jwks.json",
        session_key_prefix=prefix,
        upstream_timeout_s=2,
        rate_limit_prefix=f"{prefix}rl:",
    )


@pytest.fixture
async def redis(redis_url) -> AsyncIterator[Redis]:
    client = make_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


async def live(redis: Redis, session: Session) -> Session:
    await redis.hset(session.family, mapping={"device": "d1"})
    await redis.expire(session.family, 300)
    return session


def forwarded(identity_upstream, session_upstream) -> list[tuple[str, str]]:
    return [(r.method, r.path) for up in (identity_upstream, session_upstream) for r in up.seen]


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_a_protected_route_without_a_bearer_token_is_401_and_not_forwarded(
    client, identity_upstream, session_upstream, method, path
):
    answer = await client.request(method, path, headers={"accept-language": "de"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert answer.json()["message"] == "Eine Anmeldung ist erforderlich."
    assert answer.headers["www-authenticate"] == "Bearer"
    assert forwarded(identity_upstream, session_upstream) == []


async def test_another_authorization_scheme_is_no_bearer_token(
    client, identity_upstream, session_upstream
):
    answer = await client.post("/v1/logout", headers={"authorization": "Basic dXNlcjpwYXNz"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "unauthorized"
    assert forwarded(identity_upstream, session_upstream) == []


@pytest.mark.parametrize(("method", "path"), PROTECTED)
async def test_a_live_access_token_is_forwarded_with_its_authorization_header(
    client, redis, prefix, identity_upstream, session_upstream, method, path
):
    session = await live(redis, Session(prefix))
    answer = await client.request(method, path, headers=session.bearer)
    assert answer.status_code == 201
    [seen] = identity_upstream.seen + session_upstream.seen
    assert (seen.method, seen.path) == (method, path)
    assert seen.headers["authorization"] == f"Bearer {session.token}"


@pytest.mark.parametrize(
    "token",
    [
        "not-a-token",
        sign({"sub": "x"}, "at+jwt"),
        sign(Session("any:").claims, "at+jwt", key=Ed25519PrivateKey.generate()),
    ],
    ids=["garbage", "missing-claims", "other-key"],
)
async def test_a_bad_token_is_401_token_invalid_and_not_forwarded(
    client, identity_upstream, session_upstream, token
):
    answer = await client.get(
        "/v1/sessions", headers={"authorization": f"Bearer {token}", "accept-language": "fr"}
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
    assert answer.json()["message"] == "Le jeton d’accès est invalide ou a expiré."
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert forwarded(identity_upstream, session_upstream) == []


async def test_an_expired_token_of_a_live_session_is_401(client, redis, prefix, session_upstream):
    now = int(time.time())
    session = await live(redis, Session(prefix, iat=now - 1000, exp=now - 100))
    answer = await client.get("/v1/sessions", headers=session.bearer)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
    assert session_upstream.seen == []


async def test_a_token_for_another_audience_is_401(client, redis, prefix, session_upstream):
    session = await live(redis, Session(prefix, aud="another-suite"))
    answer = await client.get("/v1/sessions", headers=session.bearer)
    assert answer.json()["code"] == "token_invalid"
    assert session_upstream.seen == []


@pytest.mark.parametrize("changes", [{"exp": 10**30}, {"iat": -1}, {"nbf": 253_402_300_800}])
async def test_a_token_with_an_absurd_time_is_401_and_not_forwarded(
    client, redis, prefix, session_upstream, changes
):
    session = await live(redis, Session(prefix, **changes))
    answer = await client.get("/v1/sessions", headers=session.bearer)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
    assert session_upstream.seen == []


async def test_a_token_with_a_critical_header_is_401_and_not_forwarded(
    client, redis, prefix, session_upstream
):
    session = await live(redis, Session(prefix))
    header = {"kid": KID, "typ": "at+jwt", "crit": ["exp"]}
    token = jwt.encode(session.claims, KEY, algorithm="EdDSA", headers=header)
    answer = await client.get("/v1/sessions", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
    assert session_upstream.seen == []


async def test_a_token_whose_session_has_ended_is_refused_at_once(
    client, redis, prefix, session_upstream
):
    session = await live(redis, Session(prefix))
    assert (await client.get("/v1/sessions", headers=session.bearer)).status_code == 201
    await redis.delete(session.family)
    answer = await client.get("/v1/sessions", headers=session.bearer)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
    assert len(session_upstream.seen) == 1


async def test_a_session_kept_under_another_prefix_does_not_count(
    client, redis, test_id, session_upstream
):
    session = await live(redis, Session(f"other{test_id}:"))
    answer = await client.post("/v1/logout", headers=session.bearer)
    assert answer.json()["code"] == "token_invalid"
    assert session_upstream.seen == []


@pytest.mark.parametrize(("method", "path"), [p for p in PROTECTED if "/totp/" not in p[1]])
async def test_a_challenge_token_is_refused_on_protected_routes(
    client, identity_upstream, session_upstream, method, path
):
    headers = {"authorization": f"Bearer {challenge_token()}"}
    answer = await client.request(method, path, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
    assert forwarded(identity_upstream, session_upstream) == []


async def test_a_challenge_token_is_accepted_on_a_totp_setup_route(client, identity_upstream):
    token = challenge_token()
    answer = await client.post("/v1/users/totp/setup", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 201
    [seen] = identity_upstream.seen
    assert seen.headers["authorization"] == f"Bearer {token}"


async def test_an_ended_session_cannot_fall_back_to_a_challenge_on_a_totp_route(
    client, prefix, identity_upstream
):
    session = Session(prefix)
    answer = await client.post("/v1/users/totp/setup", headers=session.bearer)
    assert answer.status_code == 401
    assert answer.json()["code"] == "token_invalid"
    assert identity_upstream.seen == []


async def test_public_routes_pass_without_a_token_and_ignore_a_bad_one(client, session_upstream):
    assert (await client.post("/v1/authenticate")).status_code == 201
    headers = {"authorization": "Bearer not-a-token"}
    assert (await client.post("/v1/refresh-token", headers=headers)).status_code == 201
    assert [r.path for r in session_upstream.seen] == ["/v1/authenticate", "/v1/refresh-token"]


async def test_the_keys_are_fetched_once_for_many_requests(client, redis, prefix, session_upstream):
    for _ in range(5):
        session = await live(redis, Session(prefix))
        assert (await client.get("/v1/sessions", headers=session.bearer)).status_code == 201
    assert session_upstream.jwks_requests == 1


async def test_tokens_cannot_be_checked_without_the_jwks_so_the_answer_is_503(
    redis_url, redis, prefix, identity_upstream, session_upstream
):
    settings = GatewaySettings(
        redis_url=redis_url,
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
        session_jwks_url=f"http://127.0.0.1:{free_port()}/.well-known/jwks.json",
        session_key_prefix=prefix,
    )
    session = await live(redis, Session(prefix))
    async with AsyncTestClient(create_app(settings)) as client:
        answer = await client.get("/v1/sessions", headers=session.bearer)
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"
    assert session_upstream.seen == []


async def test_sessions_cannot_be_checked_without_redis_so_the_answer_is_503(
    own_redis, prefix, identity_upstream, session_upstream
):
    session_upstream.signing_keys[KID] = KEY
    settings = GatewaySettings(
        redis_url=own_redis.url(),
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
        session_jwks_url=f"{session_upstream.url}/.well-known/jwks.json",
        session_key_prefix=prefix,
    )
    own = make_redis(own_redis.url())
    try:
        session = await live(own, Session(prefix))
    finally:
        await own.aclose()
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/v1/sessions", headers=session.bearer)).status_code == 201
        own_redis.stop()
        answer = await client.get("/v1/sessions", headers=session.bearer)
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"
    assert len(session_upstream.seen) == 1


# GET /auth/validate-session: answered by the gateway itself after these checks; the session
# stand-in records every request it gets, so a hop to it shows.


async def test_validate_session_is_answered_by_the_gateway_without_calling_the_session_service(
    client, redis, prefix, session_upstream, identity_upstream
):
    session = await live(redis, Session(prefix, exp=1_893_456_000, amr=["pwd", "totp"]))
    answer = await client.get("/auth/validate-session", headers=session.bearer)
    assert answer.status_code == 200
    assert answer.content == (
        b'{"valid":true,"userId":"%s","sessionId":"%s",'
        b'"expiresAt":"2030-01-01T00:00:00Z","amr":["pwd","totp"]}'
        % (session.claims["sub"].encode(), session.claims["sid"].encode())
    )
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["ratelimit-limit"]
    assert answer.headers["x-request-id"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert session_upstream.seen == identity_upstream.seen == []


@pytest.mark.parametrize(
    ("case", "code"),
    [("no header", "unauthorized"), ("challenge", "token_invalid"), ("ended", "token_invalid")],
)
async def test_validate_session_refusals_are_the_gateways_checks_and_not_forwarded(
    client, redis, prefix, session_upstream, case, code
):
    session = Session(prefix)
    headers = {
        "no header": {},
        "challenge": {"authorization": f"Bearer {challenge_token()}"},
        "ended": session.bearer,  # its family was never created: logged out
    }[case]
    answer = await client.get("/auth/validate-session", headers=headers)
    assert (answer.status_code, answer.json()["code"]) == (401, code)
    assert session_upstream.seen == []


async def test_another_method_on_validate_session_is_still_forwarded(
    client, redis, prefix, session_upstream
):
    session = await live(redis, Session(prefix))
    answer = await client.post("/auth/validate-session", headers=session.bearer)
    assert answer.status_code == 201  # the stand-in's echo: the session service answers 405
    assert [(r.method, r.path) for r in session_upstream.seen] == [
        ("POST", "/auth/validate-session")
    ]
