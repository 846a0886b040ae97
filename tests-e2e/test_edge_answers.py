"""`GET /auth/validate-session` through the gateway (which answers it itself) and directly at
the session service: the same status, body and headers for every kind of token."""

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_session.adapters.keys import load_folder
from tessera_shared.testing.tokens import challenge_claims

from .test_auth_surface import auth, login, registered

COMPARED = ("cache-control", "content-type", "www-authenticate")
CASES = [
    "valid",
    "missing header",
    "another scheme",
    "bearer without token",
    "expired",
    "forged",
    "challenge token",
    "revoked session",
    "absurd exp",
    "crit header",
]


def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def signed(suite, claims: dict, typ: str = "at+jwt", **header: object) -> str:
    """A token signed with the suite's current session key, as the session service signs."""
    key = load_folder(Path(suite.env["TESSERA_SESSION_SIGNING_KEYS_DIR"]))[-1]
    return jwt.encode(claims, key.private, "EdDSA", headers={"kid": key.kid, "typ": typ, **header})


@pytest.fixture(scope="module")
def account(suite) -> dict:
    """A signed-in session, and one that was logged out."""
    address = f"e2e.edge.{uuid.uuid4().hex[:8]}@example.com"
    registered(suite, address)
    ended = login(suite, address)
    status, _, _ = auth(suite, "POST", "logout", token=ended["idToken"])
    assert status == 200
    return {"live": login(suite, address), "ended": ended}


def authorization(suite, account: dict, case: str) -> dict[str, str]:
    live = jwt.decode(account["live"]["idToken"], options={"verify_signature": False})
    token = {
        "valid": account["live"]["idToken"],
        "expired": signed(suite, {**live, "iat": live["iat"] - 3600, "exp": live["iat"] - 1800}),
        "forged": jwt.encode(
            live, Ed25519PrivateKey.generate(), "EdDSA", headers={"kid": "k", "typ": "at+jwt"}
        ),
        "challenge token": signed(suite, challenge_claims(sub=live["sub"]), "mfa-challenge+jwt"),
        "revoked session": account["ended"]["idToken"],
        "absurd exp": signed(suite, {**live, "exp": 10**20}),
        "crit header": signed(suite, live, crit=["exp"]),
    }
    header = {
        "missing header": None,
        "another scheme": "Basic dXNlcjpwYXNz",
        "bearer without token": "Bearer ",
    }
    if case in header:
        value = header[case]
        return {} if value is None else {"Authorization": value}
    return {"Authorization": f"Bearer {token[case]}"}


def session_url(suite) -> str:
    return next(p for p in suite.processes if p.part.name == "session").url


@pytest.mark.parametrize("case", CASES)
def test_validate_session_answers_the_same_through_the_gateway_as_at_the_session_service(
    suite, account, case
):
    headers = {"Accept-Language": "de", **authorization(suite, account, case)}
    via = get(f"{suite.gateway_url}/auth/validate-session", headers)
    direct = get(f"{session_url(suite)}/auth/validate-session", headers)

    assert via[0] == direct[0]
    assert [via[1].get(h) for h in COMPARED] == [direct[1].get(h) for h in COMPARED]
    if via[0] == 200:
        assert via[2] == direct[2]  # byte for byte: key order, `expiresAt` formatting
        assert (
            json.loads(via[2])["sessionId"]
            == jwt.decode(account["live"]["idToken"], options={"verify_signature": False})["sid"]
        )
    else:
        # The gateway's error body names its own request id; all else is the same.
        assert {**json.loads(via[2]), "request_id": None} == {
            **json.loads(direct[2]),
            "request_id": None,
        }
    if via[0] == 200:  # its refusals carry none, as before
        assert via[1]["ratelimit-limit"]
    assert via[1]["x-request-id"]  # what the gateway adds to every answer
    assert via[1]["x-content-type-options"] == "nosniff"


def test_the_expected_answers_of_the_cases(suite, account):
    seen = {}
    for case in CASES:
        status, headers, body = get(
            f"{suite.gateway_url}/auth/validate-session", authorization(suite, account, case)
        )
        seen[case] = (status, json.loads(body).get("code"), headers.get("www-authenticate"))
    invalid = (401, "token_invalid", 'Bearer error="invalid_token"')
    assert seen == {
        "valid": (200, None, None),
        "missing header": (401, "unauthorized", "Bearer"),
        "another scheme": (401, "unauthorized", "Bearer"),
        "bearer without token": (401, "unauthorized", "Bearer"),
        "expired": invalid,
        "forged": invalid,
        "challenge token": invalid,
        "revoked session": invalid,
        "absurd exp": invalid,
        "crit header": invalid,
    }
