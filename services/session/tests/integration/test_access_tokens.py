"""Signing keys and JWKS, introspection, and access tokens that must be refused."""

import asyncio
import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_session.adapters.keys import generate

from .conftest import (
    INTERNAL,
    USERNAME,
    StandInIdentity,
    StartSession,
    bearer,
    claims_of,
    error_of,
    signing_key,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """`header.payload` of a JWT, to sign by hand."""
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


# keys


async def test_after_a_key_rotation_the_new_key_signs_and_old_tokens_still_verify(
    start_session: StartSession, identity: StandInIdentity
):
    old_app = await start_session()
    identity.add_user(USERNAME)
    old = await old_app.login(USERNAME, device="device-1")
    old_jwks = await old_app.client.get("/.well-known/jwks.json")
    assert old_jwks.headers["cache-control"] == "public, max-age=300"
    [old_key] = old_jwks.json()["keys"]
    assert (old_key["kty"], old_key["crv"], old_key["alg"], old_key["use"]) == (
        "OKP",
        "Ed25519",
        "EdDSA",
        "sig",
    )
    assert "d" not in old_key
    assert jwt.get_unverified_header(old.access_token)["kid"] == old_key["kid"]

    # Key ids carry a timestamp to the second: rotate as an operator would, not in the same
    # second the first key was made (see the unit test of keys for that case).
    await asyncio.sleep(1.05 - time.time() % 1)
    new_kid = generate(old_app.keys_dir).kid
    new_app = await start_session(signing_key_delay_s=0)

    jwks = await new_app.client.get("/.well-known/jwks.json")
    assert [key["kid"] for key in jwks.json()["keys"]] == [new_kid, old_key["kid"]]
    fresh = await new_app.login(USERNAME, device="device-2")
    assert jwt.get_unverified_header(fresh.access_token)["kid"] == new_kid
    new_key = jwt.PyJWK(jwks.json()["keys"][0]).key
    jwt.decode(fresh.access_token, new_key, algorithms=["EdDSA"], audience="tessera")
    assert (await new_app.sessions(old.access_token)).status_code == 200
    assert (await new_app.sessions(fresh.access_token)).status_code == 200


async def test_a_rotated_key_is_published_at_once_signs_after_the_delay_and_no_restart_is_needed(
    start_session: StartSession, identity: StandInIdentity
):
    app = await start_session(signing_keys_reload_s=1, signing_key_delay_s=3)
    identity.add_user(USERNAME)
    old = await app.login(USERNAME, device="device-1")
    old_kid = jwt.get_unverified_header(old.access_token)["kid"]
    await asyncio.sleep(1.05 - time.time() % 1)  # key ids carry the time to the second

    new_kid = generate(app.keys_dir).kid
    made = time.time()
    published: list[str] = []
    while new_kid not in published:
        assert time.time() - made < 3, "the new key was not published by a reload"
        await asyncio.sleep(0.1)
        published = [
            k["kid"] for k in (await app.client.get("/.well-known/jwks.json")).json()["keys"]
        ]
    assert published == [new_kid, old_kid]
    # Published, not signing yet: verifiers get time to learn it first.
    early = await app.login(USERNAME, device="device-2")
    assert jwt.get_unverified_header(early.access_token)["kid"] == old_kid

    await asyncio.sleep(max(0.0, int(made) + 3 - time.time()) + 0.1)
    late = await app.login(USERNAME, device="device-3")
    assert jwt.get_unverified_header(late.access_token)["kid"] == new_kid
    assert (await app.sessions(late.access_token)).status_code == 200  # its own verifier knows it
    assert (await app.sessions(old.access_token)).status_code == 200

    (app.keys_dir / f"{old_kid}.pem").unlink()
    deadline = time.time() + 3
    while published != [new_kid]:
        assert time.time() < deadline, "the deleted key is still published"
        await asyncio.sleep(0.1)
        published = [
            k["kid"] for k in (await app.client.get("/.well-known/jwks.json")).json()["keys"]
        ]
    assert (await app.sessions(old.access_token)).status_code == 401


# introspection


async def test_introspection_requires_the_internal_token(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)

    for headers in ({}, {"x-internal-token": "wrong"}):
        answer = await session.client.post(
            "/internal/v1/introspect", json={"token": login.access_token}, headers=headers
        )
        assert error_of(answer) == (401, "unauthorized")


async def test_introspection_tells_active_revoked_and_garbage_tokens_apart(session):
    session.identity.add_user(USERNAME, mfa_mode="none")
    login = await session.login(USERNAME)

    async def introspect(token: str) -> Any:
        answer = await session.client.post(
            "/internal/v1/introspect", json={"token": token}, headers=INTERNAL
        )
        assert answer.status_code == 200
        return answer.json()

    assert await introspect(login.access_token) == {
        "active": True,
        "claims": claims_of(login.access_token),
    }
    await session.client.post("/v1/logout", headers=bearer(login.access_token))
    assert await introspect(login.access_token) == {"active": False, "revoked": True}
    assert await introspect("garbage") == {"active": False}
    assert await introspect("") == {"active": False}


# forged access tokens


async def test_forged_access_tokens_are_refused_with_token_invalid(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    kid, private = signing_key(session.keys_dir)
    real = claims_of(login.access_token)
    now = int(time.time())
    header = {"alg": "EdDSA", "typ": "at+jwt", "kid": kid}

    def signed(claims: dict[str, Any], **header_changes: Any) -> str:
        return jwt.encode(claims, private, algorithm="EdDSA", headers={**header, **header_changes})

    # The crafting itself is right: the same claims, signed like the app does, are accepted.
    control = await session.sessions(signed(real))
    assert control.status_code == 200

    head, payload, signature = login.access_token.split(".")
    public = private.public_key()
    public_pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    def hs256(secret: bytes) -> str:
        message = unsigned({"alg": "HS256", "typ": "at+jwt", "kid": kid}, real)
        return f"{message}.{b64(hmac.new(secret, message.encode(), hashlib.sha256).digest())}"

    other_key = Ed25519PrivateKey.generate()
    tampered = {**real, "sub": "00000000-0000-0000-0000-000000000000"}
    forged = {
        "tampered": f"{head}.{b64(json.dumps(tampered).encode())}.{signature}",
        "bad_signature": f"{head}.{payload}.{signature[:-4]}AAAA",
        "no_signature": f"{head}.{payload}.",
        "expired": signed({**real, "iat": now - 1000, "exp": now - 100}),
        "alg_none": unsigned({"alg": "none", "typ": "at+jwt", "kid": kid}, real) + ".",
        "unknown_kid": signed(real, kid="20200101T000000Z-deadbeef"),
        "no_kid": jwt.encode(real, private, algorithm="EdDSA", headers={"typ": "at+jwt"}),
        "foreign_key_with_our_kid": jwt.encode(real, other_key, algorithm="EdDSA", headers=header),
        "hs256_with_public_pem": hs256(public_pem),
        "hs256_with_public_raw": hs256(public_raw),
        "hs256_with_jwk_x": hs256(b64(public_raw).encode()),
        "wrong_typ": signed(real, typ="JWT"),
        "challenge_typ": signed(real, typ="mfa-challenge+jwt"),
        "wrong_audience": signed({**real, "aud": "someone-else"}),
        "wrong_issuer": signed({**real, "iss": "someone-else"}),
        "no_sid": signed({k: v for k, v in real.items() if k != "sid"}),
        "unknown_sid": signed({**real, "sid": "00000000-0000-0000-0000-000000000000"}),
        "garbage": "not-a-jwt",
    }
    seen = {}
    for name, token in forged.items():
        answer = await session.sessions(token)
        seen[name] = (answer.status_code, answer.json().get("code"))

    assert seen == dict.fromkeys(forged, (401, "token_invalid"))
    assert (await session.sessions(login.access_token)).status_code == 200
