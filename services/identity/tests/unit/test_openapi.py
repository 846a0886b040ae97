"""The identity service's OpenAPI document, as `/schema/openapi.json` serves it (no servers:
the document needs no connection, so the lifespan is never run)."""

from litestar.testing import TestClient

from tessera_identity.app import create_app
from tessera_identity.config import IdentitySettings


def served_document() -> dict:
    answer = TestClient(create_app(IdentitySettings())).get("/schema/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def codes(operation: dict, status: str) -> set[str]:
    return set(operation["responses"][status]["content"]["application/json"]["examples"])


def test_no_error_answer_is_documented_with_litestars_default_shape():
    for path, item in served_document()["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    where = f"{method.upper()} {path} {status}"
                    assert schema["allOf"][0] == {"$ref": "#/components/schemas/ErrorBody"}, where


def test_domain_refusals_and_validation_are_documented_with_their_codes():
    paths = served_document()["paths"]
    send_code = paths["/auth/otp/code"]["get"]
    assert "mfa_factor_unavailable" in codes(send_code, "422")
    assert "validation_failed" in codes(send_code, "422")  # `method` is a query parameter
    registration = paths["/v1/users/initiate-registration"]["post"]
    assert {"terms_not_accepted", "password_too_short", "validation_failed"} <= codes(
        registration, "422"
    )
    assert codes(registration, "400") == {"invalid_json"}
    assert "resend_too_soon" in codes(registration, "429")


def test_headers_read_by_a_route_are_parameters_and_an_optional_body_is_not_required():
    paths = served_document()["paths"]
    removal = paths["/v1/users/totp"]["delete"]
    assert "X-OTP" in {p["name"] for p in removal["parameters"] if p["in"] == "header"}
    assert removal["security"] == [{"BearerToken": []}]
    assert paths["/auth/enable-mfa"]["post"]["requestBody"]["required"] is False


def test_options_lists_every_method_of_a_path_served_by_two_handlers():
    client = TestClient(create_app(IdentitySettings()))
    assert client.options("/auth/otp/code").headers["allow"] == "GET, OPTIONS, POST"
    assert client.options("/auth/otp/methods/totp").headers["allow"] == "DELETE, OPTIONS, POST"
