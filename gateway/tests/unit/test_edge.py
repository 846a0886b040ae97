import os

import pytest

from tessera_gateway.bodies import check_body, is_json
from tessera_gateway.config import PREFIX, load_settings
from tessera_gateway.cors import CorsPolicy, actual_headers, parse_origins, preflight_headers
from tessera_gateway.security_headers import is_auth_path, security_headers
from tessera_shared.config import ConfigError
from tessera_shared.errors import TesseraError


def body_refusal(body: bytes, content_type: str | None) -> str | None:
    """The error code refusing a body, or None when it may be forwarded."""
    try:
        check_body(body, content_type, headers={})
    except TesseraError as refusal:
        return refusal.code
    return None


@pytest.fixture
def env(monkeypatch):
    for name in [n for n in os.environ if n.startswith(PREFIX)]:
        monkeypatch.delenv(name)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"{PREFIX}{name.upper()}", value)

    return set_env


def test_origins_are_a_comma_separated_list_of_exact_origins():
    assert parse_origins(" https://app.example.com, http://localhost:3000 ,") == {
        "https://app.example.com",
        "http://localhost:3000",
    }
    assert parse_origins("HTTPS://App.Example.com") == {"https://app.example.com"}
    assert parse_origins("") == frozenset()


@pytest.mark.parametrize(
    "origins",
    [
        "*",
        "https://a.example, *",
        "null",
        "https://app.example.com/",
        "https://app.example.com/login",
        "https://*.example.com",
        "app.example.com",
        "ftp://app.example.com",
        "https://user@app.example.com",
        "https://app.example.com:99999",
        "https://app.example.com?x",
    ],
)
def test_anything_but_exact_origins_is_refused(origins):
    with pytest.raises(ValueError, match=r"refused|not an origin"):
        parse_origins(origins)


def test_a_wildcard_origin_stops_the_start_naming_the_variable(env):
    env(cors_origins="*")
    with pytest.raises(ConfigError, match=f"^{PREFIX}CORS_ORIGINS is invalid: .*credentials"):
        load_settings()


def test_malformed_trusted_proxies_stop_the_start_naming_the_variable(env):
    env(trusted_proxies="10.0.0.0/8, ingress")
    with pytest.raises(ConfigError, match=f"^{PREFIX}TRUSTED_PROXIES is invalid: 'ingress'"):
        load_settings()


def test_production_over_plain_http_without_an_ingress_is_refused(env):
    env(environment="production")
    with pytest.raises(ConfigError, match=f"^{PREFIX}TLS_CERT_FILE and {PREFIX}TLS_KEY_FILE"):
        load_settings()


def test_production_behind_a_trusted_ingress_may_serve_plain_http(env):
    env(environment="production", trusted_proxies="10.0.0.0/8", internal_token="i" * 32)
    assert load_settings().trusted_proxies == "10.0.0.0/8"


def test_the_public_url_is_a_base_url_kept_without_its_trailing_slash(env):
    assert load_settings().edge.public_url is None
    env(public_url="https://auth.example.com/")
    assert load_settings().edge.public_url == "https://auth.example.com"
    env(public_url="http://127.0.0.1:8080/tessera")
    assert load_settings().edge.public_url == "http://127.0.0.1:8080/tessera"


@pytest.mark.parametrize(
    "url",
    [
        "auth.example.com",
        "ftp://auth.example.com",
        "https://",
        "https://auth.example.com/?x=1",
        "https://auth.example.com/#top",
        "https://user@auth.example.com",
        "https://auth.example.com:http",
    ],
)
def test_a_public_url_that_is_no_base_url_stops_the_start_naming_the_variable(env, url):
    env(public_url=url)
    with pytest.raises(ConfigError, match=f"^{PREFIX}PUBLIC_URL is invalid"):
        load_settings()


def test_production_needs_an_https_public_url(env):
    env(
        environment="production",
        trusted_proxies="10.0.0.0/8",
        public_url="http://a.example",
        internal_token="i" * 32,
    )
    with pytest.raises(ConfigError, match=f"^{PREFIX}PUBLIC_URL is invalid: it must be https"):
        load_settings()
    env(public_url="https://a.example")
    assert load_settings().edge.public_url == "https://a.example"


def test_one_tls_file_without_the_other_is_refused(env, tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    env(tls_cert_file=str(cert))
    with pytest.raises(ConfigError, match=f"^{PREFIX}TLS_KEY_FILE is required"):
        load_settings()


def test_missing_or_unloadable_tls_files_are_refused_naming_the_variable(env, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("not a certificate")
    env(tls_cert_file=str(cert), tls_key_file=str(key))
    with pytest.raises(ConfigError, match=f"^{PREFIX}TLS_KEY_FILE is invalid: no such file"):
        load_settings()
    key.write_text("not a key")
    with pytest.raises(ConfigError, match=f"^{PREFIX}TLS_CERT_FILE is invalid: .* do not load"):
        load_settings()


POLICY = CorsPolicy(origins=frozenset({"https://app.example.com"}), max_age_s=600)


def test_an_allowed_origin_is_echoed_with_credentials_and_exposed_headers():
    headers = dict(actual_headers(POLICY, "https://app.example.com"))
    assert headers[b"access-control-allow-origin"] == b"https://app.example.com"
    assert headers[b"access-control-allow-credentials"] == b"true"
    assert b"Retry-After" in headers[b"access-control-expose-headers"]
    assert headers[b"vary"] == b"Origin"


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "https://app.example.com.evil.example", "null", ""]
)
def test_a_denied_origin_gets_no_access_control_header(origin):
    for headers in (actual_headers(POLICY, origin), preflight_headers(POLICY, origin)):
        assert [k for k, _ in headers if k.startswith(b"access-control-")] == []


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON;charset=UTF-8", True),
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/jsonp", False),
        ("", False),
        (None, False),
    ],
)
def test_only_json_is_json(content_type, expected):
    assert is_json(content_type) is expected


def test_a_non_empty_body_must_be_json_and_an_empty_one_may_have_any_type():
    assert body_refusal(b"a=1", "text/plain") == "unsupported_media_type"
    assert body_refusal(b"{}", None) == "unsupported_media_type"
    assert body_refusal(b"{}", "application/json") is None
    assert body_refusal(b"", "text/plain") is None


@pytest.mark.parametrize(
    "body",
    [b"{", b'{"email": "\xff"}', b'{"email": "jos\xe9"}', b"[" * 1000 + b"]" * 1000],
)
def test_a_json_body_that_is_no_json_is_refused_as_invalid_json(body):
    assert body_refusal(body, "application/json; charset=latin1") == "invalid_json"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/authenticate", True),
        ("/v1", True),
        ("//v1//users/me", True),
        ("/auth/login", True),
        ("/.well-known/jwks.json", False),
        ("/health/live", False),
        ("/v10/x", False),
        ("/authx", False),
    ],
)
def test_auth_routes_are_everything_under_v1_and_auth(path, expected):
    assert is_auth_path(path) is expected


def test_security_headers_replace_upstream_ones_and_hsts_needs_https():
    upstream = [(b"cache-control", b"max-age=3600"), (b"x-frame-options", b"SAMEORIGIN")]
    over_http = dict(security_headers("/v1/authenticate", "http", upstream))
    assert over_http[b"cache-control"] == b"no-store"
    assert over_http[b"x-frame-options"] == b"DENY"
    assert b"strict-transport-security" not in over_http
    jwks = dict(security_headers("/.well-known/jwks.json", "https", upstream))
    assert jwks[b"cache-control"] == b"max-age=3600"
    assert jwks[b"strict-transport-security"] == b"max-age=63072000; includeSubDomains"


@pytest.mark.parametrize("path", ["/docs", "/docs/"])
def test_only_the_docs_page_may_run_scripts_and_only_its_own(path):
    csp = b"content-security-policy"
    assert dict(security_headers(path, "http", []))[csp].startswith(b"default-src 'none'; script-")
    for other in ("/openapi.json", "/v1/users/me", "/docs/assets/redoc-2.5.4/redoc.standalone.js"):
        policy = dict(security_headers(other, "http", [(csp, b"default-src *")]))[csp]
        assert policy == b"default-src 'none'; frame-ancestors 'none'"
