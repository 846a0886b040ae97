"""One OpenAPI document for the public API, served by the gateway."""

import urllib.request

from .test_foundation import call


def test_the_gateway_serves_one_document_with_every_public_route_and_no_internal_one(suite):
    status, headers, document = call(f"{suite.gateway_url}/openapi.json")
    assert status == 200
    assert document["openapi"].startswith("3.1")
    assert "max-age" in headers["cache-control"]
    paths = document["paths"]
    for public in (
        "/v1/users/initiate-registration",
        "/v1/users/verify-registration",
        "/v1/authenticate",
        "/v1/refresh-token",
        "/v1/logout",
        "/.well-known/jwks.json",
    ):
        assert public in paths, public
    assert not [p for p in paths if p.startswith(("/internal", "/health"))]
    registration = paths["/v1/users/initiate-registration"]["post"]
    assert registration["security"] == [{"ApiKey": []}]
    assert paths["/v1/logout"]["post"]["security"] == [{"BearerToken": []}]
    body = registration["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert {"credential_type", "credential_value", "password"} <= set(schema["properties"])
    assert schema["properties"]["password"]["description"].startswith("8 to 128 characters")
    assert "ErrorBody" in document["components"]["schemas"]
    for guide_route in ("/auth/login", "/auth/login/refresh", "/auth/otp/code", "/v1/verify-2FA"):
        assert guide_route in paths, guide_route


def test_the_docs_page_renders_the_document(suite):
    with urllib.request.urlopen(f"{suite.gateway_url}/docs", timeout=5) as answer:  # noqa: S310
        page = answer.read().decode()
    assert answer.headers["content-type"].startswith("text/html")
    assert 'spec-url="/openapi.json"' in page


def test_a_method_the_path_does_not_accept_is_answered_405_with_allow(suite):
    status, headers, body = call(f"{suite.gateway_url}/v1/authenticate", "PUT")
    assert (status, body["code"]) == (405, "method_not_allowed")
    assert set(headers["allow"].split(", ")) == {"OPTIONS", "POST"}
    status, headers, _ = call(
        f"{suite.gateway_url}/v1/users/initiate-registration",
        "OPTIONS",
        **{"X-API-Key": suite.api_key},
    )
    assert status == 204
    assert headers["allow"] == "OPTIONS, POST"


def test_the_document_lists_the_headers_each_route_reads_and_its_error_codes(suite):
    _, _, document = call(f"{suite.gateway_url}/openapi.json")
    authenticate = document["paths"]["/v1/authenticate"]["post"]
    headers = {p["name"]: p["required"] for p in authenticate["parameters"] if p["in"] == "header"}
    assert headers["X-Device-ID"] is True
    assert headers["X-App-ID"] is False
    responses = authenticate["responses"]
    assert "4XX" not in responses
    assert {"invalid_json", "device_id_required"} <= set(
        responses["400"]["content"]["application/json"]["examples"]
    )
    assert "rate_limited" in responses["429"]["content"]["application/json"]["examples"]
