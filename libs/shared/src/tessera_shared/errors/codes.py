"""Every error code a client can see, its HTTP status and its English message (the msgid).

Codes are an API: never rename or reuse one. `tests/unit/test_error_codes.py` pins this list.
"""

import msgspec

from tessera_shared.i18n import N_


class ErrorSpec(msgspec.Struct, frozen=True):
    status: int
    message: str


ERRORS: dict[str, ErrorSpec] = {
    # request shape
    "invalid_json": ErrorSpec(400, N_("The request body is not valid JSON.")),
    "validation_failed": ErrorSpec(422, N_("Some fields are missing or invalid.")),
    "bad_request": ErrorSpec(400, N_("The request cannot be processed.")),
    "not_found": ErrorSpec(404, N_("The requested resource does not exist.")),
    "method_not_allowed": ErrorSpec(405, N_("This method is not allowed on this resource.")),
    "payload_too_large": ErrorSpec(413, N_("The request body is too large.")),
    "request_timeout": ErrorSpec(408, N_("The request body did not arrive in time.")),
    "unsupported_media_type": ErrorSpec(415, N_("The request body must be JSON.")),
    # callers
    "unauthorized": ErrorSpec(401, N_("Authentication is required.")),
    "forbidden": ErrorSpec(403, N_("You are not allowed to do this.")),
    "rate_limited": ErrorSpec(429, N_("Too many requests. Please try again later.")),
    # gateway: client applications
    "api_key_missing": ErrorSpec(401, N_("An API key is required (header X-API-Key).")),
    "api_key_invalid": ErrorSpec(401, N_("The API key is not valid.")),
    # access tokens (gateway and any service verifying them)
    "token_invalid": ErrorSpec(401, N_("The access token is invalid or has expired.")),
    # registration input
    "terms_not_accepted": ErrorSpec(422, N_("You must accept the terms and conditions.")),
    "privacy_policy_not_accepted": ErrorSpec(422, N_("You must accept the privacy policy.")),
    "invalid_email": ErrorSpec(422, N_("This email address is not valid.")),
    "invalid_phone": ErrorSpec(
        422, N_("This phone number is not valid. Use the international format, e.g. +41791234567.")
    ),
    "password_too_short": ErrorSpec(
        422, N_("The password must be at least %(min)s characters long.")
    ),
    "password_too_long": ErrorSpec(
        422, N_("The password must be at most %(max)s characters long.")
    ),
    "password_blank": ErrorSpec(422, N_("The password must not consist of spaces only.")),
    "password_too_common": ErrorSpec(
        422, N_("This password is too common and easy to guess. Please choose another one.")
    ),
    # one-time codes
    "otp_invalid": ErrorSpec(400, N_("The code is not correct.")),
    "otp_expired": ErrorSpec(400, N_("The code has expired. Please request a new one.")),
    "otp_used": ErrorSpec(409, N_("This code has already been used.")),
    "otp_attempts_exceeded": ErrorSpec(
        400, N_("Too many wrong codes were entered. Please request a new one.")
    ),
    "resend_too_soon": ErrorSpec(429, N_("Please wait a moment before requesting another code.")),
    "too_many_codes": ErrorSpec(429, N_("Too many codes were requested. Please try again later.")),
    # signing in
    "invalid_credentials": ErrorSpec(401, N_("The username or password is incorrect.")),
    "account_locked": ErrorSpec(
        423, N_("Too many failed sign-in attempts. Please try again later.")
    ),
    "login_attempts_in_progress": ErrorSpec(
        429, N_("Other sign-in attempts for this account are in progress. Please try again.")
    ),
    "account_not_verified": ErrorSpec(403, N_("This account has not been verified yet.")),
    "account_disabled": ErrorSpec(403, N_("This account is disabled.")),
    # sessions
    "device_id_required": ErrorSpec(
        400, N_("A valid X-Device-ID header is required (1 to 128 letters, digits or . _ : -).")
    ),
    "app_id_invalid": ErrorSpec(
        400, N_("The X-App-ID header is not valid (1 to 64 letters, digits, _ or -).")
    ),
    "refresh_token_invalid": ErrorSpec(
        401, N_("Your session has expired or is no longer valid. Please sign in again.")
    ),
    "session_not_found": ErrorSpec(404, N_("This session does not exist or has already ended.")),
    "credential_unavailable": ErrorSpec(409, N_("This address cannot be used for this account.")),
    # second factor
    "credential_already_verified": ErrorSpec(
        409, N_("Your account already has a verified address of this kind.")
    ),
    "challenge_invalid": ErrorSpec(
        401,
        N_("This sign-in attempt has expired or was already completed. Please sign in again."),
    ),
    "recovery_code_invalid": ErrorSpec(
        400, N_("This recovery code is not valid or has already been used.")
    ),
    "mfa_factor_unavailable": ErrorSpec(
        422, N_("This sign-in method is not set up on your account.")
    ),
    "step_up_required": ErrorSpec(
        403, N_("Please confirm this change with a current code from your second factor.")
    ),
    "totp_already_enabled": ErrorSpec(
        409, N_("An authenticator app is already set up. Remove it before setting up another.")
    ),
    "totp_not_enabled": ErrorSpec(409, N_("No authenticator app is set up for this account.")),
    "mfa_attempts_exceeded": ErrorSpec(
        429, N_("Too many wrong codes for this account. Please try again later.")
    ),
    # the suite itself
    "internal_error": ErrorSpec(500, N_("Something went wrong on our side. Please try again.")),
    "bad_gateway": ErrorSpec(502, N_("An internal service answered incorrectly.")),
    "service_unavailable": ErrorSpec(
        503, N_("The service is temporarily unavailable. Please try again shortly.")
    ),
    "gateway_timeout": ErrorSpec(504, N_("An internal service did not answer in time.")),
}

# Codes of single fields inside a `validation_failed` answer (`details[].code`).
FIELD_ERRORS: dict[str, str] = {
    "missing_field": N_("This field is required."),
    "unknown_field": N_("This field is not allowed."),
    "wrong_type": N_("This field must be of type %(expected)s."),
    "too_short": N_("This field must be at least %(limit)s characters long."),
    "too_long": N_("This field must be at most %(limit)s characters long."),
    "out_of_range": N_("This value is out of the allowed range."),
    "invalid_value": N_("This value is not allowed."),
    "invalid_format": N_("This value has the wrong format."),
    "must_be_true": N_("This must be accepted."),
}
