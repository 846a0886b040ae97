"""What the verifiers accept and refuse, with keys given up front (no HTTP)."""

import base64
import dataclasses
import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_verify import REASONS, AsyncVerifier, Claims, VerificationError, Verifier

from ..helpers import AUDIENCE, ISSUER, b64, claims, sign

pytestmark = pytest.mark.unit

KEY = Ed25519PrivateKey.generate()
SECRET_MARK = "pV7secretMARKq"
"""Put into tokens: no refusal message may ever contain it."""


def verifier(**options: Any) -> Verifier:
    return Verifier(issuer=ISSUER, audience=AUDIENCE, keys={"k1": KEY.public_key()}, **options)


def refusal(token: str, **options: Any) -> VerificationError:
    with pytest.raises(VerificationError) as refused:
        verifier(**options).verify(token)
    assert refused.value.reason in REASONS
    assert SECRET_MARK not in str(refused.value)
    assert token not in str(refused.value) or not token
    return refused.value


def unsigned(header: dict[str, Any], body: dict[str, Any], signature: bytes = b"x" * 64) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(body).encode())}.{b64(signature)}"


def test_a_valid_token_gives_typed_frozen_claims_and_every_raw_claim():
    body = claims(amr=["pwd", "totp"], extra={"any": "thing"})
    got = verifier().verify(sign(KEY, body=body))
    assert isinstance(got, Claims)
    assert (got.sub, got.sid, got.jti, got.did, got.aid) == (
        body["sub"],
        body["sid"],
        body["jti"],
        "device-1",
        "app-1",
    )
    assert (got.exp, got.iat, got.nbf, got.iss, got.aud) == (
        body["exp"],
        body["iat"],
        None,
        ISSUER,
        AUDIENCE,
    )
    assert got.amr == ("pwd", "totp")
    assert got.client_id is None
    assert got.raw == body
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.sub = "someone else"  # type: ignore[misc]
    assert got == Claims(**{**dataclasses.asdict(got), "amr": ("pwd", "totp")})
    assert hash(got) == hash(dataclasses.replace(got))
    assert not hasattr(got, "__dict__")


def test_a_token_naming_its_client_passes_with_it():
    got = verifier().verify(sign(KEY, body=claims(client_id="orders-service", nbf=100)))
    assert (got.client_id, got.nbf) == ("orders-service", 100)


async def test_the_async_verifier_gives_the_same_claims():
    token = sign(KEY, body=claims(client_id="c"))
    async_verifier = AsyncVerifier(issuer=ISSUER, audience=AUDIENCE, keys={"k1": KEY.public_key()})
    assert await async_verifier.verify(token) == verifier().verify(token)


async def test_the_async_verifier_refuses_as_the_sync_one():
    async_verifier = AsyncVerifier(issuer=ISSUER, audience=AUDIENCE, keys={"k1": KEY.public_key()})
    with pytest.raises(VerificationError) as refused:
        await async_verifier.verify(sign(KEY, body=claims(aud="other")))
    assert refused.value.reason == "wrong_audience"


def test_a_changed_payload_breaks_the_signature():
    head, _, signature = sign(KEY).split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    assert refusal(f"{head}.{forged}.{signature}").reason == "bad_signature"


def test_another_key_with_the_same_kid_is_a_bad_signature():
    assert refusal(sign(Ed25519PrivateKey.generate())).reason == "bad_signature"


def test_an_unknown_kid_is_an_unknown_key():
    assert refusal(sign(KEY, "k2")).reason == "unknown_key"


@pytest.mark.parametrize(
    ("changes", "reason"),
    # Times are seconds from when the test runs (not from collection, which can be minutes before).
    [
        (lambda now: {"exp": now - 11, "iat": now - 900}, "expired"),
        (lambda now: {"iat": now + 60, "exp": now + 900}, "expired"),
        (lambda now: {"nbf": now + 60}, "expired"),
        (lambda now: {"iss": "https://evil.example"}, "wrong_issuer"),
        (lambda now: {"aud": "other-service"}, "wrong_audience"),
        (lambda now: {"aud": [AUDIENCE, "other-service"]}, "wrong_audience"),
    ],
)
def test_claims_outside_the_rules_are_refused_with_their_reason(changes, reason):
    token = sign(KEY, body=claims(**changes(int(time.time()))))
    assert refusal(token).reason == reason


def test_the_leeway_applies_to_expiry():
    now = int(time.time())
    token = sign(KEY, body=claims(exp=now - 5, iat=now - 900))
    assert verifier().verify(token).exp == now - 5
    assert refusal(token, leeway_s=0).reason == "expired"


@pytest.mark.parametrize("typ", ["mfa-challenge+jwt", "JWT", "", None, 7, "at+JWT+x"])
def test_a_token_of_another_type_is_refused(typ):
    header = {"alg": "EdDSA", "kid": "k1", **({} if typ is None else {"typ": typ})}
    assert refusal(sign(KEY, header=header)).reason == "wrong_type"


def test_the_type_is_compared_as_a_media_type():
    header = {"alg": "EdDSA", "typ": "application/AT+JWT", "kid": "k1"}
    assert verifier().verify(sign(KEY, header=header)).aud == AUDIENCE


def test_an_mfa_challenge_token_is_refused_whatever_its_claims():
    header = {"alg": "EdDSA", "typ": "mfa-challenge+jwt", "kid": "k1"}
    challenge = claims(cid="c", mfa_mode="totp")
    assert refusal(sign(KEY, body=challenge, header=header)).reason == "wrong_type"


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "typ": "at+jwt", "kid": "k1"},
        {"alg": "HS256", "typ": "at+jwt", "kid": "k1"},
        {"alg": "Ed25519", "typ": "at+jwt", "kid": "k1"},
        {"typ": "at+jwt", "kid": "k1"},
        {"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "crit": ["exp"]},
        {"alg": "EdDSA", "typ": "at+jwt", "kid": "k1", "crit": []},
        {"alg": "EdDSA", "typ": "at+jwt"},
        {"alg": "EdDSA", "typ": "at+jwt", "kid": ""},
        {"alg": "EdDSA", "typ": "at+jwt", "kid": 1},
        {"alg": "EdDSA", "typ": "at+jwt", "kid": "k" * 257},
    ],
)
def test_headers_outside_the_rules_are_malformed(header):
    assert refusal(sign(KEY, header=header)).reason == "malformed"


def test_the_longest_kid_allowed_is_256_characters():
    kid = "k" * 256
    keyed = Verifier(issuer=ISSUER, audience=AUDIENCE, keys={kid: KEY.public_key()})
    assert keyed.verify(sign(KEY, kid)).sub


@pytest.mark.parametrize("secret", ["pem", "raw"])
def test_hs256_keyed_with_the_public_key_is_refused(secret):
    from cryptography.hazmat.primitives import serialization

    public = KEY.public_key()
    key = (
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if secret == "pem"
        else public.public_bytes_raw()
    )
    head = b64(json.dumps({"alg": "HS256", "typ": "at+jwt", "kid": "k1"}).encode())
    body = b64(json.dumps(claims()).encode())
    mac = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert refusal(f"{head}.{body}.{b64(mac)}").reason == "malformed"


def test_an_alg_that_only_looks_like_eddsa_is_refused():
    header = {"alg": "EdDSA ", "typ": "at+jwt", "kid": "k1"}
    assert refusal(sign(KEY, header=header)).reason == "malformed"


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c.d",
        "e30.e30.",
        ".e30.AA",
        "e30=.e30.AA",
        "e30.e30.s+g",
        "e30.e30.s/g",
        "W10.e30.AA",  # header is an array
        "!!!.e30.AA",
        "ZQ.e30.AA",  # header is not JSON
        "e30.e30.A",  # impossible base64 length
        "é30.e30.AA",
        " " + "e30.e30.AA",
        "x" * 9000,
    ],
)
def test_garbage_is_malformed(token):
    assert refusal(token).reason == "malformed"


def test_a_token_longer_than_8192_characters_is_refused_before_parsing():
    token = sign(KEY, body=claims(pad="x" * 8000))
    assert len(token) > 8192
    assert refusal(token).reason == "malformed"


def test_a_deeply_nested_header_is_malformed_not_a_crash():
    head = b64(b"[" * 5000 + b"]" * 5000)
    assert refusal(f"{head}.e30.AA").reason == "malformed"


def test_deeply_nested_claims_are_malformed_not_a_crash():
    head = b64(json.dumps({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}).encode())
    body = b64(b"[" * 4000 + b"]" * 4000)
    signing_input = f"{head}.{body}"
    token = f"{signing_input}.{b64(KEY.sign(signing_input.encode()))}"
    assert refusal(token).reason == "malformed"


@pytest.mark.parametrize(
    "claim", ["iss", "aud", "sub", "sid", "iat", "exp", "jti", "amr", "did", "aid"]
)
def test_a_token_missing_a_required_claim_is_refused(claim):
    body = claims()
    del body[claim]
    assert refusal(sign(KEY, body=body)).reason in {"malformed", "wrong_issuer", "wrong_audience"}


@pytest.mark.parametrize(
    "changes",
    [
        {"amr": "pwd"},
        {"amr": ["pwd", 1]},
        {"sub": 1},
        {"sid": None},
        {"client_id": 5},
        {"did": ["d"]},
    ],
)
def test_a_claim_of_the_wrong_type_is_malformed(changes):
    assert refusal(sign(KEY, body=claims(**changes))).reason == "malformed"


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [10**30, 253_402_300_800, 2**63, -1, 1.5, 1e30, "1", True])
def test_times_that_are_not_integers_in_range_are_malformed(claim, value):
    body = claims(**{claim: value})
    assert refusal(sign(KEY, body=body), now=lambda: 0.0).reason == "malformed"


def test_the_latest_expressible_expiry_is_accepted():
    assert verifier().verify(sign(KEY, body=claims(exp=253_402_300_799))).exp == 253_402_300_799


def test_claims_that_are_not_an_object_are_malformed():
    head = b64(json.dumps({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}).encode())
    body = b64(b"[1, 2]")
    signing_input = f"{head}.{body}"
    token = f"{signing_input}.{b64(KEY.sign(signing_input.encode()))}"
    assert refusal(token).reason == "malformed"


def test_claims_with_white_space_around_still_pass():
    head = b64(json.dumps({"alg": "EdDSA", "typ": "at+jwt", "kid": "k1"}).encode())
    body = b64(b"  " + json.dumps(claims()).encode() + b"\n")
    signing_input = f"{head}.{body}"
    token = f"{signing_input}.{b64(KEY.sign(signing_input.encode()))}"
    assert verifier().verify(token).iss == ISSUER


def test_messages_name_the_reason_and_never_the_token():
    forged = sign(Ed25519PrivateKey.generate(), body=claims(sub=SECRET_MARK))
    error = refusal(forged)
    assert str(error) == "bad_signature: signature does not verify"
    assert error.reason == "bad_signature"


def test_reasons_are_the_documented_ones():
    assert {
        "malformed",
        "wrong_type",
        "bad_signature",
        "unknown_key",
        "wrong_issuer",
        "wrong_audience",
        "expired",
        "revoked",
        "unavailable",
    } == REASONS


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"jwks_url": "http://127.0.0.1:1/jwks", "keys": {}},
        {"jwks_url": "file:///etc/passwd"},
        {"jwks_url": "ftp://example.org/jwks"},
        {"keys": {"k1": KEY}},
        {"keys": {}, "check_session": True, "api_key": "k"},
        {"keys": {}, "check_session": True, "introspection_url": "http://127.0.0.1:1/i"},
        {
            "keys": {},
            "check_session": True,
            "introspection_url": "http://127.0.0.1:1/i",
            "api_key": "k",
            "client_id": "c",
            "client_secret": "s",
        },
        {
            "keys": {},
            "check_session": True,
            "introspection_url": "http://127.0.0.1:1/i",
            "client_id": "c",
        },
        {"keys": {}, "leeway_s": -1},
    ],
)
def test_a_misconfigured_verifier_fails_at_construction(options):
    with pytest.raises((ValueError, TypeError)):
        Verifier(issuer=ISSUER, audience=AUDIENCE, **options)


def test_bearer_tokens_are_read_from_the_authorization_header():
    from tessera_verify import bearer_token

    assert bearer_token("Bearer abc.def.ghi") == "abc.def.ghi"
    assert bearer_token("bearer  abc ") == "abc"
    assert bearer_token("Basic dXNlcjpwYXNz") is None
    assert bearer_token("Bearer") is None
    assert bearer_token(None) is None


def test_the_signature_covers_the_exact_header_segment():
    # Same header content written differently must not reuse another header's signature.
    token = sign(KEY)
    _, body, signature = token.split(".")
    other_head = base64.urlsafe_b64encode(
        json.dumps({"kid": "k1", "typ": "at+jwt", "alg": "EdDSA"}).encode()
    ).rstrip(b"=")
    assert refusal(f"{other_head.decode()}.{body}.{signature}").reason == "bad_signature"
    assert verifier().verify(token).sub
