import base64

import pytest

from tessera_gateway.oauth import client_key, introspection_body, request_base, token_in
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.errors import TesseraError
from tessera_shared.testing.tokens import access_claims

KEY = "tsk_" + "k" * 43
FORM = "application/x-www-form-urlencoded"


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def refusal(call) -> tuple[str, str | None]:
    with pytest.raises(TesseraError) as refused:
        call()
    return refused.value.code, refused.value.headers.get("www-authenticate")


def test_the_key_comes_from_x_api_key_or_basic_with_its_own_id_form_encoded_or_not():
    assert client_key(KEY, None) == KEY
    assert client_key(KEY, "Bearer abc") == KEY
    assert client_key(None, basic(f"{KEY[:12]}:{KEY}")) == KEY
    assert client_key("", f"bAsIc  {basic(f'{KEY[:12]}:{KEY}')[6:]}") == KEY
    assert client_key(None, basic(f"{KEY[:12]}:{KEY.replace('k', '%6B')}")) == KEY


@pytest.mark.parametrize(
    ("api_key", "authorization", "code"),
    [
        (None, None, "unauthorized"),
        ("", "Bearer abc", "unauthorized"),
        (None, basic(f"tsk_kkkkkkkj:{KEY}"), "api_key_invalid"),
        (None, basic(f"{KEY}"), "api_key_invalid"),
        (None, "Basic %%%", "api_key_invalid"),
        (None, "Basic " + base64.b64encode(b"\xff:\xfe").decode(), "api_key_invalid"),
    ],
)
def test_missing_and_impossible_credentials_are_401s_with_the_basic_challenge(
    api_key, authorization, code
):
    assert refusal(lambda: client_key(api_key, authorization)) == (code, 'Basic realm="tessera"')


def test_two_ways_at_once_are_an_invalid_request_without_a_challenge():
    both = (KEY, basic(f"{KEY[:12]}:{KEY}"))
    assert refusal(lambda: client_key(*both)) == ("invalid_request", None)


def test_the_token_is_the_one_token_parameter_of_a_form():
    assert token_in(b"token=a.b.c&token_type_hint=refresh_token", FORM, headers={}) == "a.b.c"
    assert token_in(b"token=a%2Bb+c", f"{FORM}; charset=utf-8", headers={}) == "a+b c"
    many = b"&".join(b"x=1" for _ in range(40)) + b"&token=t"
    for body, content_type in [
        (b"token=a", "application/json"),
        (b"token=a", None),
        (b"token=a&token=a", FORM),
        (b"token=", FORM),
        (b"", FORM),
        (many, FORM),
    ]:
        code, _ = refusal(lambda b=body, c=content_type: token_in(b, c, headers={}))
        assert code == "invalid_request"


def test_an_inactive_answer_says_only_so_and_older_tokens_name_their_aid_as_client_id():
    assert introspection_body(None) == b'{"active":false}'
    claims = AccessClaims(**access_claims(aid="web"))
    assert b'"client_id":"web"' in introspection_body(claims)
    assert b'"token_type":"Bearer"' in introspection_body(claims)


@pytest.mark.parametrize(
    ("host", "base"),
    [
        ("auth.example.com", "https://auth.example.com"),
        ("auth.example.com:8443", "https://auth.example.com:8443"),
        ("127.0.0.1:8080", "https://127.0.0.1:8080"),
        ("[2001:db8::1]:8080", "https://[2001:db8::1]:8080"),
        ("localhost", "https://localhost"),
        (None, None),
        ("", None),
        ("a.example/x", None),
        ("user@a.example", None),
        ("a.example:80:80", None),
        ("-a.example", None),
    ],
)
def test_the_base_of_a_request_is_its_scheme_and_a_well_formed_host(host, base):
    assert request_base("https", host) == base
