"""`check_session=True`: RFC 7662 introspection against a real endpoint of the gateway's
contract (a local server: the e2e test against the suite comes with the gateway's endpoint)."""

import base64
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_verify import AsyncVerifier, VerificationError, Verifier

from ..helpers import (
    API_KEY,
    AUDIENCE,
    CLIENT_ID,
    CLIENT_SECRET,
    ISSUER,
    AuthServer,
    Clock,
    claims,
    sign,
)

pytestmark = pytest.mark.integration


def make(server: AuthServer, clock: Clock | None = None, **options: Any) -> Verifier:
    settings: dict[str, Any] = {
        "check_session": True,
        "introspection_url": server.introspection_url,
        "api_key": API_KEY,
        **options,
    }
    if clock is not None:
        settings["clock"] = clock
    return Verifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=server.jwks_url, **settings)


def reason(verifier: Verifier, token: str) -> str:
    with pytest.raises(VerificationError) as refused:
        verifier.verify(token)
    return refused.value.reason


def test_an_active_session_passes_and_the_call_follows_rfc_7662(server):
    token = sign(server.keys["k1"])
    assert make(server).verify(token).sub
    [call] = server.introspections
    assert call["form"] == {"token": token}
    assert call["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert call["headers"]["x-api-key"] == API_KEY
    assert "authorization" not in call["headers"]


def test_client_credentials_go_as_http_basic(server):
    verifier = make(server, api_key=None, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    assert verifier.verify(sign(server.keys["k1"])).sub
    [call] = server.introspections
    pair = base64.b64decode(call["headers"]["authorization"].removeprefix("Basic ")).decode()
    # RFC 6749 §2.3.1: each part form-urlencoded before the pair is encoded.
    assert pair == "svc%2Borders:s3cr3t%2Fwith%3Aodd%3Dchars"
    assert "x-api-key" not in call["headers"]


def test_an_ended_session_is_refused_within_the_cache_time(server):
    clock = Clock()
    verifier = make(server, clock)
    body = claims()
    token = sign(server.keys["k1"], body=body)
    assert verifier.verify(token).sid == body["sid"]
    server.ended.add(body["sid"])  # logout elsewhere
    clock.now += 4.9
    assert verifier.verify(token).sid == body["sid"]  # the answer kept 5 s
    assert len(server.introspections) == 1
    clock.now += 0.1
    assert reason(verifier, token) == "revoked"
    assert len(server.introspections) == 2
    assert reason(verifier, token) == "revoked"  # the inactive answer is kept too
    assert len(server.introspections) == 2


def test_the_cache_time_is_a_setting_and_zero_asks_every_time(server):
    verifier = make(server, session_cache_s=0)
    token = sign(server.keys["k1"])
    for _ in range(3):
        verifier.verify(token)
    assert len(server.introspections) == 3


def test_answers_are_kept_per_token(server):
    verifier = make(server)
    body = claims()
    first = sign(server.keys["k1"], body=body)
    second = sign(server.keys["k1"], body={**body, "jti": "another"})
    verifier.verify(first)
    verifier.verify(second)
    verifier.verify(first)
    assert len(server.introspections) == 2


def test_tokens_refused_offline_are_never_sent_to_the_endpoint(server):
    verifier = make(server)
    assert reason(verifier, sign(Ed25519PrivateKey.generate())) == "bad_signature"
    assert reason(verifier, sign(server.keys["k1"], body=claims(aud="x"))) == "wrong_audience"
    assert server.introspections == []


def test_an_unreachable_endpoint_fails_closed(server):
    verifier = make(server)
    token = sign(server.keys["k1"])
    verifier.verify(token)  # JWKS fetched
    other = sign(server.keys["k1"])
    server.stop()
    assert reason(verifier, other) == "unavailable"
    assert verifier.verify(token).sub  # answered within 5 s: still known to be active


@pytest.mark.parametrize("status", [500, 503, 302])
def test_an_endpoint_in_trouble_fails_closed(server, status):
    server.introspect_status = status
    assert reason(make(server), sign(server.keys["k1"])) == "unavailable"


def test_wrong_credentials_fail_closed(server):
    assert reason(make(server, api_key="wrong"), sign(server.keys["k1"])) == "unavailable"


async def test_the_async_verifier_checks_sessions_the_same_way(server):
    clock = Clock()
    verifier = AsyncVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=server.jwks_url,
        check_session=True,
        introspection_url=server.introspection_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        clock=clock,
    )
    body = claims(client_id="orders")
    token = sign(server.keys["k1"], body=body)
    assert (await verifier.verify(token)).client_id == "orders"
    server.ended.add(body["sid"])
    clock.now += 5
    with pytest.raises(VerificationError) as refused:
        await verifier.verify(token)
    assert refused.value.reason == "revoked"
    server.stop()
    with pytest.raises(VerificationError) as refused:
        await verifier.verify(sign(server.keys["k1"]))
    assert refused.value.reason == "unavailable"
