from tessera_gateway.openapi import merge

IDENTITY = {
    "openapi": "3.1.0",
    "paths": {
        "/v1/users/initiate-registration": {
            "post": {"requestBody": {"required": True}, "responses": {"200": {}}}
        },
        "/internal/v1/password/verify": {"post": {"responses": {}}},
        "/health/ready": {"get": {"responses": {}}},
    },
    "components": {"schemas": {"InitiateRegistrationBody": {"type": "object"}}},
}
SESSION = {
    "openapi": "3.1.0",
    "paths": {
        "/v1/sessions/{session_id}": {"delete": {"responses": {"204": {}}}},
        "/.well-known/jwks.json": {"get": {"responses": {"200": {}}}},
    },
    "components": {"schemas": {"SessionList": {"type": "object"}}},
}


def test_merging_keeps_public_paths_and_schemas_of_every_service():
    document = merge([IDENTITY, SESSION])
    assert list(document["paths"]) == [
        "/.well-known/jwks.json",
        "/.well-known/oauth-authorization-server",  # the gateway's own (`oauth.py`)
        "/oauth2/introspect",
        "/v1/sessions/{session_id}",
        "/v1/users/initiate-registration",
    ]
    assert {"InitiateRegistrationBody", "SessionList", "ErrorBody"} <= set(
        document["components"]["schemas"]
    )


def test_merged_operations_say_which_credential_the_gateway_requires():
    paths = merge([IDENTITY, SESSION])["paths"]
    assert paths["/v1/users/initiate-registration"]["post"]["security"] == [{"ApiKey": []}]
    assert paths["/v1/sessions/{session_id}"]["delete"]["security"] == [{"BearerToken": []}]
    assert "security" not in paths["/.well-known/jwks.json"]["get"]


def examples(operation: dict, status: str) -> set[str]:
    return set(operation["responses"][status]["content"]["application/json"]["examples"])


def test_merged_operations_document_what_the_gateway_answers_itself_and_no_catch_all():
    paths = merge([IDENTITY, SESSION])["paths"]
    registration = paths["/v1/users/initiate-registration"]["post"]
    assert examples(registration, "401") == {"api_key_missing", "api_key_invalid"}
    assert examples(registration, "415") == {"unsupported_media_type"}
    assert examples(registration, "429") == {"rate_limited"}
    assert examples(registration, "502") == {"bad_gateway"}
    ending = paths["/v1/sessions/{session_id}"]["delete"]
    assert examples(ending, "401") == {"unauthorized", "token_invalid"}
    assert "415" not in ending["responses"]  # no body
    for item in paths.values():
        for operation in item.values():
            assert "4XX" not in operation["responses"]
            for status, response in operation["responses"].items():
                if status != "200" and status != "204":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema["allOf"][0] == {"$ref": "#/components/schemas/ErrorBody"}


def test_the_gateway_documents_its_own_oauth_routes():
    document = merge([IDENTITY, SESSION])
    introspect = document["paths"]["/oauth2/introspect"]["post"]
    assert introspect["security"] == [{"ApiKey": []}, {"ClientBasic": []}]
    assert document["components"]["securitySchemes"]["ClientBasic"]["scheme"] == "basic"
    form = introspect["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert form["required"] == ["token"]
    assert examples(introspect, "400") == {"invalid_request"}
    assert examples(introspect, "401") == {"unauthorized", "api_key_invalid"}
    assert introspect["responses"]["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert {"408", "413", "429", "503"} <= set(introspect["responses"])
    assert "415" not in introspect["responses"]  # a JSON body is a 400 invalid_request
    answers = introspect["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"]
    schemas = document["components"]["schemas"]
    active, inactive = (schemas[a["$ref"].rsplit("/", 1)[1]] for a in answers)
    assert set(active["required"]) == {
        *("active", "sub", "sid", "exp", "iat", "client_id", "amr", "token_type", "iss", "aud")
    }
    assert active["properties"]["active"]["enum"] == [True]
    assert inactive["properties"]["active"]["enum"] == [False]
    assert inactive["required"] == ["active"]
    assert inactive["additionalProperties"] is False
    metadata = document["paths"]["/.well-known/oauth-authorization-server"]["get"]
    assert "security" not in metadata
    schema = schemas[
        metadata["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit(
            "/", 1
        )[1]
    ]
    assert {"issuer", "jwks_uri", "introspection_endpoint", "response_types_supported"} <= set(
        schema["required"]
    )


ADMIN_IDENTITY = {
    **IDENTITY,
    "paths": {
        **IDENTITY["paths"],
        "/admin/v1/users": {"get": {"security": [{"AdminKey": []}], "responses": {"200": {}}}},
        "/admin/v1/users/{user_id}": {
            "patch": {"requestBody": {"required": True}, "responses": {"200": {}}}
        },
    },
}


def test_admin_operations_require_an_admin_key_and_document_its_refusals():
    document = merge([ADMIN_IDENTITY, SESSION])
    listing = document["paths"]["/admin/v1/users"]["get"]
    change = document["paths"]["/admin/v1/users/{user_id}"]["patch"]
    for operation in (listing, change):
        assert operation["security"] == [{"AdminKey": []}]
        assert examples(operation, "401") == {"unauthorized", "admin_key_invalid"}
        assert examples(operation, "403") == {"admin_scope_missing"}
        assert examples(operation, "503") == {"service_unavailable"}
    assert document["components"]["securitySchemes"]["AdminKey"]["scheme"] == "bearer"


def test_with_the_admin_api_off_the_document_has_no_admin_path():
    document = merge([ADMIN_IDENTITY, SESSION], admin=False)
    assert not [path for path in document["paths"] if path.startswith("/admin")]
    assert "/v1/users/initiate-registration" in document["paths"]
