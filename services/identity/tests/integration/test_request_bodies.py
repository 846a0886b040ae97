"""Bodies that are no JSON, sent byte for byte over TCP to identity served by granian."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tessera_identity.app import create_app
from tessera_identity.migrate import migrate
from tessera_shared.testing.raw_http import request_raw, served
from tessera_shared.tokens import JwksCache

from .conftest import SIGNING_KID, settings_for

JSON = {"content-type": "application/json"}
LATIN1 = {"content-type": "application/json; charset=latin1"}


def registration(email: bytes) -> bytes:
    return (
        b'{"email":"' + email + b'","password":"Correct-Horse-9x",'
        b'"termsAccepted":true,"privacyPolicyAccepted":true}'
    )


def nested(levels: int) -> bytes:
    return b'{"email":"ann@example.com","extra":' + b"[" * levels + b"]" * levels + b"}"


BAD_BODIES = [
    pytest.param(registration(b"\xff@example.com"), JSON, id="invalid-utf8"),
    pytest.param(registration(b"jos\xe9@example.com"), LATIN1, id="latin1"),
    pytest.param(nested(1000), JSON, id="nested-1000"),
    pytest.param(nested(20_000), JSON, id="nested-20000"),
]


@pytest.fixture
async def identity_port(postgres_url, nats_url, test_id):
    migrate(postgres_url)
    settings = settings_for(postgres_url, nats_url, test_id)
    jwks = JwksCache.from_keys({SIGNING_KID: Ed25519PrivateKey.generate().public_key()})
    async with served(create_app(settings, jwks)) as port:
        yield port


@pytest.mark.parametrize(("body", "headers"), BAD_BODIES)
@pytest.mark.parametrize("path", ["/auth/register", "/v1/users/initiate-registration"])
async def test_a_body_that_is_no_json_is_a_400_invalid_json(identity_port, path, body, headers):
    answer = await request_raw(identity_port, "POST", path, body, headers)
    assert answer.status == 400, answer.body
    assert answer.json()["code"] == "invalid_json"
    assert answer.json()["message"] == "The request body is not valid JSON."


async def test_json_nested_just_below_the_limit_is_never_a_server_error(identity_port):
    for levels in range(900, 1001, 5):
        answer = await request_raw(identity_port, "POST", "/auth/register", nested(levels), JSON)
        assert answer.status in (400, 422), (levels, answer.body)
