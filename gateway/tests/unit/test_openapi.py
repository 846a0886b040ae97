from tessera_gateway.openapi import merge

IDENTITY = {
    "openapi": "3.1.0",
    "paths": {
        "/v1/users/initiate-registration": {"post": {"responses": {"200": {}}}},
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
    error = paths["/v1/sessions/{session_id}"]["delete"]["responses"]["4XX"]
    assert error["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
