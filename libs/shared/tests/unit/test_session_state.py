"""The validate-session answer the session service and the gateway both send."""

import msgspec
from litestar.serialization import encode_json

from tessera_shared.contracts.session_state import session_state, session_state_body
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.testing.tokens import access_claims


def claims(**changes: object) -> AccessClaims:
    return msgspec.convert(access_claims(**changes), AccessClaims)


def test_the_body_names_the_session_in_camel_case_with_valid_first_and_a_utc_expiry():
    body = session_state_body(claims(sub="u1", sid="s1", exp=1_893_456_000, amr=["pwd", "otp"]))
    assert body == (
        b'{"valid":true,"userId":"u1","sessionId":"s1",'
        b'"expiresAt":"2030-01-01T00:00:00Z","amr":["pwd","otp"]}'
    )


def test_the_gateways_bytes_are_those_litestar_sends_for_the_session_services_struct():
    given = claims(exp=1_700_000_123)
    assert session_state_body(given) == encode_json(session_state(given))
