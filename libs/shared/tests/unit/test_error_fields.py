import pytest

from tessera_shared.errors.fields import parse_field_error, split_msgspec_error


@pytest.mark.parametrize(
    ("message", "path", "field", "code", "params"),
    [
        ("Object missing required field `password`", "$.data", "password", "missing_field", {}),
        ("Object contains unknown field `z`", "$.data.profile", "profile.z", "unknown_field", {}),
        ("Expected `str`, got `int`", "$.data.name", "name", "wrong_type", {"expected": "str"}),
        (
            "Expected `str` of length <= 128",
            "$.data.password",
            "password",
            "too_long",
            {"limit": "128"},
        ),
        (
            "Expected `str` of length >= 8",
            "$.data.password",
            "password",
            "too_short",
            {"limit": "8"},
        ),
        ("Expected `int` >= 1", "$.data.count", "count", "out_of_range", {}),
        (
            "Invalid enum value 'fax'",
            "$.data.credential_type",
            "credential_type",
            "invalid_value",
            {},
        ),
        ("Expected `object`, got `array`", "$.data", "", "wrong_type", {"expected": "object"}),
        (
            "Missing required header parameter 'x-device-id' for url http://x/y",
            "x-device-id",
            "x-device-id",
            "missing_field",
            {},
        ),
        ("something new", "$.data.a", "a", "invalid_value", {}),
    ],
)
def test_validation_messages_become_stable_field_codes(message, path, field, code, params):
    parsed = parse_field_error(message, path)
    assert (parsed.field, parsed.code, parsed.params) == (field, code, params)


def test_msgspec_errors_split_into_message_and_path():
    assert split_msgspec_error("Expected `str`, got `int` - at `$.data.name`") == (
        "Expected `str`, got `int`",
        "$.data.name",
    )
    assert split_msgspec_error("Input data was truncated") == ("Input data was truncated", "$")
