"""The session service's OpenAPI document, as `/schema/openapi.json` serves it (no servers:
the document needs no connection, so the lifespan is never run)."""

from litestar.testing import TestClient

from tessera_session.app import create_app
from tessera_session.config import SessionSettings


def served_document(tmp_path) -> dict:
    app = create_app(SessionSettings(signing_keys_dir=str(tmp_path)))
    answer = TestClient(app).get("/schema/openapi.json")
    assert answer.status_code == 200
    return answer.json()


def error_schemas(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                if status.startswith(("4", "5")):
                    yield f"{method.upper()} {path} {status}", response


def test_no_error_answer_is_documented_with_litestars_default_shape(tmp_path):
    document = served_document(tmp_path)
    errors = dict(error_schemas(document))
    assert errors
    for where, response in errors.items():
        schema = response["content"]["application/json"]["schema"]
        assert schema["allOf"][0] == {"$ref": "#/components/schemas/ErrorBody"}, where
        assert "status_code" not in str(schema), where
    assert set(document["components"]["schemas"]["ErrorBody"]["required"]) == {
        "status",
        "code",
        "message",
    }


def test_authenticate_documents_the_device_header_and_its_domain_refusals(tmp_path):
    operation = served_document(tmp_path)["paths"]["/v1/authenticate"]["post"]
    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["X-Device-ID"]["required"] is True
    assert headers["X-Device-ID"]["schema"]["pattern"] == r"^[A-Za-z0-9._:-]{1,128}$"
    assert headers["X-App-ID"]["required"] is False
    assert "Accept-Language" in headers
    codes = {
        status: response["content"]["application/json"]["schema"]["allOf"][1]["properties"]["code"][
            "enum"
        ]
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
    }
    assert codes["400"] == ["app_id_invalid", "bad_request", "device_id_required", "invalid_json"]
    assert codes["401"] == ["invalid_credentials"]
    assert codes["422"] == ["validation_failed"]
    assert codes["423"] == ["account_locked"]
    assert "service_unavailable" in codes["503"]
    assert "Retry-After" in operation["responses"]["503"]["headers"]


def test_routes_reading_a_bearer_token_say_so_and_document_its_refusals(tmp_path):
    paths = served_document(tmp_path)["paths"]
    for path, method in (
        ("/v1/logout", "post"),
        ("/v1/sessions", "get"),
        ("/auth/validate-session", "get"),
    ):
        operation = paths[path][method]
        assert operation["security"] == [{"BearerToken": []}], path
        assert set(operation["responses"]["401"]["content"]["application/json"]["examples"]) == {
            "unauthorized",
            "token_invalid",
        }, path


def test_options_lists_every_method_of_the_path(tmp_path):
    app = create_app(SessionSettings(signing_keys_dir=str(tmp_path)))
    answer = TestClient(app).options("/v1/authenticate")
    assert answer.headers["allow"] == "OPTIONS, POST"
    refused = TestClient(app).put("/v1/authenticate")
    assert refused.status_code == 405
    assert refused.json()["code"] == "method_not_allowed"
    assert set(refused.headers["allow"].split(", ")) == {"OPTIONS", "POST"}
