"""The access-token verifier against tokens signed here, with keys given up front (no JWKS)."""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_shared.contracts.tokens import AccessClaims, ChallengeClaims
from tessera_shared.errors import TesseraError
from tessera_shared.testing.tokens import access_claims, challenge_claims
from tessera_shared.tokens import AccessTokenVerifier, JwksCache, bearer_token
from tessera_shared.tokens.jwks import Jwks, ed25519_keys

KID = "k1"
ISSUER = "tessera"
AUDIENCE = "tessera"
KEY = Ed25519PrivateKey.generate()
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
PUBLIC_RAW = KEY.public_key().public_bytes(
    serialization.Encoding.Raw, serialization.PublicFormat.Raw
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(
    claims: dict[str, Any],
    *,
    key: Ed25519PrivateKey = KEY,
    typ: str = "at+jwt",
    kid: str | None = KID,
) -> str:
    headers: dict[str, Any] = {"typ": typ}
    if kid is not None:
        headers["kid"] = kid
    return jwt.encode(claims, key, algorithm="EdDSA", headers=headers)


def unsigned_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes) -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(signature)}"


@pytest.fixture
def verifier() -> AccessTokenVerifier:
    jwks = JwksCache.from_keys({KID: KEY.public_key()})
    return AccessTokenVerifier(jwks, issuer=ISSUER, audience=AUDIENCE, leeway_s=10)


async def assert_refused(verifier: AccessTokenVerifier, token: str) -> None:
    with pytest.raises(TesseraError) as refused:
        await verifier.verify(token)
    assert refused.value.code == "token_invalid"


async def test_a_valid_access_token_gives_its_claims(verifier):
    claims = access_claims(amr=["pwd", "totp"])
    verified = await verifier.verify(sign(claims))
    assert verified == msgspec.convert(claims, AccessClaims)


async def test_a_refusal_is_a_401_token_invalid_with_a_bearer_challenge(verifier):
    with pytest.raises(TesseraError) as refused:
        await verifier.verify("not-a-token")
    assert refused.value.code == "token_invalid"
    assert refused.value.headers == {"www-authenticate": 'Bearer error="invalid_token"'}


async def test_a_token_whose_payload_was_changed_is_refused(verifier):
    token = sign(access_claims())
    head, _, signature = token.split(".")
    forged_body = b64(json.dumps(access_claims(sub="someone-else")).encode())
    await assert_refused(verifier, f"{head}.{forged_body}.{signature}")


async def test_a_token_whose_signature_was_changed_is_refused(verifier):
    head, body, signature = sign(access_claims()).split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 0x01
    await assert_refused(verifier, f"{head}.{body}.{b64(bytes(raw))}")


async def test_a_token_signed_by_another_key_with_the_same_kid_is_refused(verifier):
    await assert_refused(verifier, sign(access_claims(), key=Ed25519PrivateKey.generate()))


async def test_a_token_expired_within_the_leeway_still_passes(verifier):
    now = int(time.time())
    claims = access_claims(iat=now - 900, exp=now - 5)
    assert (await verifier.verify(sign(claims))).exp == now - 5


async def test_a_token_expired_beyond_the_leeway_is_refused(verifier):
    now = int(time.time())
    await assert_refused(verifier, sign(access_claims(iat=now - 900, exp=now - 11)))


async def test_a_token_issued_in_the_future_is_refused(verifier):
    now = int(time.time())
    await assert_refused(verifier, sign(access_claims(iat=now + 60, exp=now + 960)))


async def test_a_token_not_valid_before_a_future_time_is_refused(verifier):
    await assert_refused(verifier, sign(access_claims(nbf=int(time.time()) + 60)))


async def test_a_token_from_another_issuer_is_refused(verifier):
    await assert_refused(verifier, sign(access_claims(iss="https://evil.example")))


@pytest.mark.parametrize("audience", ["other-service", ["tessera", "other-service"]])
async def test_a_token_for_another_audience_is_refused(verifier, audience):
    await assert_refused(verifier, sign(access_claims(aud=audience)))


async def test_a_token_with_alg_none_is_refused(verifier):
    header = {"alg": "none", "typ": "at+jwt", "kid": KID}
    await assert_refused(verifier, unsigned_token(header, access_claims(), b""))


@pytest.mark.parametrize("secret", [PUBLIC_PEM, PUBLIC_RAW], ids=["pem", "raw"])
async def test_a_token_signed_with_hs256_keyed_by_the_public_key_is_refused(verifier, secret):
    header = {"alg": "HS256", "typ": "at+jwt", "kid": KID}
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(access_claims()).encode())
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    await assert_refused(verifier, f"{head}.{body}.{b64(mac)}")


async def test_a_token_with_an_unknown_kid_is_refused(verifier):
    await assert_refused(verifier, sign(access_claims(), kid="k2"))


async def test_a_token_without_kid_is_refused(verifier):
    await assert_refused(verifier, sign(access_claims(), kid=None))


@pytest.mark.parametrize("shape", [challenge_claims, access_claims])
async def test_a_challenge_token_is_not_an_access_token_whatever_its_claims(verifier, shape):
    await assert_refused(verifier, sign(shape(), typ="mfa-challenge+jwt"))


async def test_a_challenge_token_passes_as_a_challenge(verifier):
    claims = challenge_claims()
    verified = await verifier.verify_challenge(sign(claims, typ="mfa-challenge+jwt"))
    assert verified == msgspec.convert(claims, ChallengeClaims)


@pytest.mark.parametrize("shape", [access_claims, challenge_claims])
async def test_an_access_token_is_not_a_challenge_token_whatever_its_claims(verifier, shape):
    with pytest.raises(TesseraError) as refused:
        await verifier.verify_challenge(sign(shape()))
    assert refused.value.code == "token_invalid"


@pytest.mark.parametrize("typ", ["JWT", "", "at+JWT+x"])
async def test_a_token_of_another_type_is_refused(verifier, typ):
    await assert_refused(verifier, sign(access_claims(), typ=typ))


async def test_the_type_is_compared_as_a_media_type(verifier):
    claims = access_claims()
    assert (await verifier.verify(sign(claims, typ="application/AT+JWT"))).sub == claims["sub"]


@pytest.mark.parametrize(
    "claim", [f.name for f in msgspec.structs.fields(AccessClaims) if f.required]
)
async def test_a_token_missing_a_claim_is_refused(verifier, claim):
    claims = access_claims()
    del claims[claim]
    await assert_refused(verifier, sign(claims))


async def test_a_token_with_a_claim_of_the_wrong_type_is_refused(verifier):
    await assert_refused(verifier, sign(access_claims(amr="pwd")))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [10**30, -1, 1.5])
async def test_a_token_with_an_absurd_time_is_refused(verifier, claim, value):
    now = int(time.time())
    claims = access_claims(**{claim: value})
    if claim == "iat" and value == -1:
        claims["exp"] = now + 60
    await assert_refused(verifier, sign(claims))


async def test_an_access_token_with_a_critical_header_is_refused(verifier):
    header = {"typ": "at+jwt", "kid": KID, "crit": ["exp"]}
    await assert_refused(verifier, jwt.encode(access_claims(), KEY, "EdDSA", headers=header))


async def test_a_challenge_token_with_a_critical_header_is_refused(verifier):
    header = {"typ": "mfa-challenge+jwt", "kid": KID, "crit": ["exp"]}
    token = jwt.encode(challenge_claims(), KEY, algorithm="EdDSA", headers=header)
    with pytest.raises(TesseraError) as refused:
        await verifier.verify_challenge(token)
    assert refused.value.code == "token_invalid"


@pytest.mark.parametrize(
    "token", ["", ".", "a.b.c", "e30.e30.", "x" * 9000, sign(access_claims()) + "x" * 9000]
)
async def test_garbage_is_refused_as_an_invalid_token(verifier, token):
    await assert_refused(verifier, token)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc", "abc"),
        ("BEARER  abc ", "abc"),
        ("Bearer", None),
        ("Bearer ", None),
        ("Basic dXNlcjpwYXNz", None),
        ("abc.def.ghi", None),
        ("", None),
        (None, None),
    ],
)
def test_the_bearer_token_is_read_from_the_authorization_header(header, token):
    assert bearer_token(header) == token


def test_the_key_set_keeps_only_ed25519_signing_keys():
    x = b64(PUBLIC_RAW)
    jwks = msgspec.convert(
        {
            "keys": [
                {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "good", "alg": "EdDSA"},
                {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "bare"},
                {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "enc", "use": "enc"},
                {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "hs", "alg": "HS256"},
                {"kty": "OKP", "crv": "X25519", "x": x, "kid": "x25519"},
                {"kty": "OKP", "crv": "Ed25519", "x": x},
                {"kty": "OKP", "crv": "Ed25519", "x": b64(b"short"), "kid": "short"},
                {"kty": "OKP", "crv": "Ed25519", "x": "!!", "kid": "junk"},
                {"kty": "oct", "k": x, "kid": "oct"},
            ]
        },
        Jwks,
    )
    keys = ed25519_keys(jwks)
    assert sorted(keys) == ["bare", "good"]
    assert keys["good"].public_bytes_raw() == PUBLIC_RAW


def test_static_keys_must_be_ed25519_public_keys():
    with pytest.raises(TypeError):
        JwksCache.from_keys({KID: KEY})  # type: ignore[dict-item]


# Remembered tokens (`cache_size`): the signature is checked once, the lifetime every time.


class Clock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


async def test_a_remembered_token_is_refused_once_it_expires():
    clock = Clock()
    jwks = JwksCache.from_keys({KID: KEY.public_key()})
    verifier = AccessTokenVerifier(
        jwks, issuer=ISSUER, audience=AUDIENCE, leeway_s=10, cache_size=10, clock=clock
    )
    claims = access_claims(exp=int(clock.now) + 60)
    token = sign(claims)
    assert await verifier.verify(token) == msgspec.convert(claims, AccessClaims)
    clock.now += 60 + 10
    assert await verifier.verify(token) == msgspec.convert(claims, AccessClaims)
    clock.now += 1
    await assert_refused(verifier, token)


async def test_a_token_verifies_again_after_others_took_its_place_and_a_forgery_never():
    verifier = AccessTokenVerifier(
        JwksCache.from_keys({KID: KEY.public_key()}), issuer=ISSUER, audience=AUDIENCE, cache_size=2
    )
    claims = [access_claims() for _ in range(5)]
    for claim in [*claims, *claims]:
        assert (await verifier.verify(sign(claim))).jti == claim["jti"]
    await assert_refused(verifier, sign(claims[-1], key=Ed25519PrivateKey.generate()))
