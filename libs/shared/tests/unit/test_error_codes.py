"""Codes are an API: this test fails when one is renamed, dropped, or changes status."""

from pathlib import Path

import pytest

from tessera_shared.errors import ERRORS, FIELD_ERRORS
from tessera_shared.i18n import SHARED_CATALOGS, SUPPORTED_LOCALES, Translator
from tessera_shared.testing.catalogs import placeholders

PINNED = {
    "invalid_json": 400,
    "validation_failed": 422,
    "bad_request": 400,
    "not_found": 404,
    "method_not_allowed": 405,
    "payload_too_large": 413,
    "request_timeout": 408,
    "unsupported_media_type": 415,
    "unauthorized": 401,
    "api_key_missing": 401,
    "api_key_invalid": 401,
    "admin_key_invalid": 401,
    "admin_scope_missing": 403,
    "user_not_found": 404,
    "invalid_request": 400,
    "token_invalid": 401,
    "terms_not_accepted": 422,
    "privacy_policy_not_accepted": 422,
    "invalid_email": 422,
    "invalid_phone": 422,
    "password_too_short": 422,
    "password_too_long": 422,
    "password_blank": 422,
    "password_too_common": 422,
    "otp_invalid": 400,
    "otp_expired": 400,
    "otp_used": 409,
    "otp_attempts_exceeded": 400,
    "resend_too_soon": 429,
    "too_many_codes": 429,
    "invalid_credentials": 401,
    "account_locked": 423,
    "login_attempts_in_progress": 429,
    "account_not_verified": 403,
    "account_disabled": 403,
    "device_id_required": 400,
    "app_id_invalid": 400,
    "refresh_token_invalid": 401,
    "session_not_found": 404,
    "credential_unavailable": 409,
    "credential_already_verified": 409,
    "challenge_invalid": 401,
    "recovery_code_invalid": 400,
    "mfa_factor_unavailable": 422,
    "step_up_required": 403,
    "totp_already_enabled": 409,
    "totp_not_enabled": 409,
    "mfa_attempts_exceeded": 429,
    "forbidden": 403,
    "rate_limited": 429,
    "internal_error": 500,
    "bad_gateway": 502,
    "service_unavailable": 503,
    "gateway_timeout": 504,
}
PINNED_FIELDS = {
    "missing_field",
    "unknown_field",
    "wrong_type",
    "too_short",
    "too_long",
    "out_of_range",
    "invalid_value",
    "invalid_format",
    "must_be_true",
}


def test_error_codes_and_statuses_are_pinned():
    assert {code: spec.status for code, spec in ERRORS.items()} == PINNED


def test_field_codes_are_pinned():
    assert set(FIELD_ERRORS) == PINNED_FIELDS


def test_codes_are_snake_case():
    for code in [*ERRORS, *FIELD_ERRORS]:
        assert code.isidentifier()
        assert code == code.lower()


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if loc != "en"])
def test_every_error_message_is_translated_with_the_same_placeholders(locale):
    known = Translator([SHARED_CATALOGS]).known(locale)
    messages = [spec.message for spec in ERRORS.values()] + list(FIELD_ERRORS.values())
    for message in messages:
        assert message in known, f"{locale}: missing translation of {message!r}"
        assert placeholders(known[message]) == placeholders(message)


def test_the_readme_lists_every_error_code():
    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text(encoding="utf-8")
    missing = [code for code in [*ERRORS, *FIELD_ERRORS] if f"`{code}`" not in readme]
    assert missing == []
