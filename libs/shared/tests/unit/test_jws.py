import base64
import json
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.tokens import jws

KEY = Ed25519PrivateKey.generate()


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(header: dict[str, object] | None = None, **claims: object) -> str:
    now = int(time.time())
    body = {
        "iss": "tessera",
        "aud": "tessera",
        "sub": "u",
        "sid": "s",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        "amr": ["pwd"],
        "did": "d",
        "aid": "a",
        **claims,
    }
    head = b64(json.dumps(header or {"alg": "EdDSA", "typ": "at+jwt", "kid": "k"}).encode())
    payload = b64(json.dumps(body).encode())
    signature = b64(KEY.sign(f"{head}.{payload}".encode()))
    return f"{head}.{payload}.{signature}"


def check(raw: str, **kwargs: object) -> AccessClaims:
    options = {"issuer": "tessera", "audience": "tessera", "leeway_s": 10.0, **kwargs}
    return jws.verify(jws.split(raw), KEY.public_key(), AccessClaims, **options)  # type: ignore[arg-type]


def test_a_well_formed_token_gives_its_claims():
    assert check(token()).sub == "u"


@pytest.mark.parametrize(
    "raw",
    ["", "a.b", "a.b.c.d", "e30=.e30.sig", "e30.e30.s+g", "W10.e30.AA", "!!!.e30.AA"],
)
def test_malformed_compact_tokens_are_refused_before_any_crypto(raw):
    with pytest.raises(jws.JwsError):
        jws.split(raw)


def test_a_changed_payload_breaks_the_signature():
    head, _, signature = token().split(".")
    forged = b64(json.dumps({"sub": "admin"}).encode())
    with pytest.raises(jws.JwsError, match="signature"):
        check(f"{head}.{forged}.{signature}")


@pytest.mark.parametrize(
    ("claim", "offset_s", "reason"),
    [
        ("exp", -60, "expired"),
        ("iat", 60, "future"),
        ("nbf", 60, "not valid yet"),
    ],
)
def test_times_outside_their_rules_are_refused(claim, offset_s, reason):
    # Relative to when the test runs, not when it was collected: a long run must not matter.
    with pytest.raises(jws.JwsError, match=reason):
        check(token(**{claim: int(time.time()) + offset_s}))


def test_another_audience_is_refused():
    with pytest.raises(jws.JwsError, match="audience"):
        check(token(aud="elsewhere"))


def test_only_eddsa_is_accepted_whatever_the_signature():
    with pytest.raises(jws.JwsError, match="algorithm"):
        check(token({"alg": "HS256", "typ": "at+jwt", "kid": "k"}))


# The largest time a token may carry: 9999-12-31T23:59:59Z, the last second RFC 3339 and
# Python's datetime can write; beyond it, formatting `expiresAt` overflowed into a 500.
LATEST = 253_402_300_799


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [10**30, LATEST + 1, 2**63, -1, -(10**30)])
def test_times_beyond_a_sane_range_are_refused(claim, value):
    with pytest.raises(jws.JwsError, match="time"):
        check(token(**{claim: value}), now=0 if value < 0 else None)


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [1.5, 1e30, "1", True, None])
def test_times_that_are_not_integers_are_refused(claim, value):
    if claim == "nbf" and value is None:
        pytest.skip("nbf may be null: it is optional")
    with pytest.raises(jws.JwsError, match="claims"):
        check(token(**{claim: value}))


def test_the_latest_expressible_expiry_is_still_accepted():
    assert check(token(exp=LATEST)).exp == LATEST


@pytest.mark.parametrize("crit", [["exp"], ["b64"], [], "exp", ["x-unknown"]])
def test_a_critical_header_extension_is_refused_since_none_is_understood(crit):
    # RFC 7515 §4.1.11: a verifier must refuse a `crit` it does not understand; we understand none.
    with pytest.raises(jws.JwsError, match="crit"):
        check(token({"alg": "EdDSA", "typ": "at+jwt", "kid": "k", "crit": crit, "b64": True}))
