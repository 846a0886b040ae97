"""Bodies that are no JSON, sent byte for byte over TCP to the session service under granian."""

import pytest

from tessera_session.app import create_app
from tessera_shared.testing.raw_http import request_raw, served

from .conftest import INTERNAL

JSON = {"content-type": "application/json"}
LATIN1 = {"content-type": "application/json; charset=latin1"}


def nested(levels: int) -> bytes:
    return b'{"email":"ann@example.com","extra":' + b"[" * levels + b"]" * levels + b"}"


BAD_BODIES = [
    pytest.param(b'{"email":"\xff@example.com","password":"Correct-Horse-9x"}', JSON, id="utf8"),
    pytest.param(b'{"email":"jos\xe9@example.com","password":"x"}', LATIN1, id="latin1"),
    pytest.param(nested(1000), JSON, id="nested-1000"),
    pytest.param(nested(20_000), JSON, id="nested-20000"),
]


@pytest.fixture
async def session_port(session_settings):
    async with served(create_app(session_settings())) as port:
        yield port


@pytest.mark.parametrize(("body", "headers"), BAD_BODIES)
@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/auth/login", {}),
        ("/v1/authenticate", {"x-device-id": "device-1"}),
        ("/internal/v1/introspect", INTERNAL),
    ],
)
async def test_a_body_that_is_no_json_is_a_400_invalid_json(
    session_port, identity, path, extra, body, headers
):
    answer = await request_raw(session_port, "POST", path, body, {**headers, **extra})
    assert answer.status == 400, answer.body
    assert answer.json()["code"] == "invalid_json"
    assert identity.calls == []
