"""Every error code a client can see, its HTTP status and its English message (the msgid).

Codes are an API: never rename or reuse one. `tests/unit/test_error_codes.py` pins this list.
"""

from enum import StrEnum

import msgspec

from tessera_shared.i18n import N_


class ErrorSpec(msgspec.Struct, frozen=True):
    status: int
    message: str


class Code(StrEnum):
    """Every error code, as a type: `TesseraError(Code.OTP_INVALID)` is checked by mypy."""

    INVALID_JSON = "invalid_json"
    VALIDATION_FAILED = "validation_failed"
    BAD_REQUEST = "bad_request"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    API_KEY_MISSING = "api_key_missing"
    API_KEY_INVALID = "api_key_invalid"
    ADMIN_KEY_INVALID = "admin_key_invalid"
    ADMIN_SCOPE_MISSING = "admin_scope_missing"
    USER_NOT_FOUND = "user_not_found"
    INVALID_REQUEST = "invalid_request"
    TOKEN_INVALID = "token_invalid"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    PRIVACY_POLICY_NOT_ACCEPTED = "privacy_policy_not_accepted"
    INVALID_EMAIL = "invalid_email"
    INVALID_PHONE = "invalid_phone"
    PASSWORD_TOO_SHORT = "password_too_short"
    PASSWORD_TOO_LONG = "password_too_long"
    PASSWORD_BLANK = "password_blank"
    PASSWORD_TOO_COMMON = "password_too_common"
    OTP_INVALID = "otp_invalid"
    OTP_EXPIRED = "otp_expired"
    OTP_USED = "otp_used"
    OTP_ATTEMPTS_EXCEEDED = "otp_attempts_exceeded"
    RESEND_TOO_SOON = "resend_too_soon"
    TOO_MANY_CODES = "too_many_codes"
    INVALID_CREDENTIALS = "invalid_credentials"
    ACCOUNT_LOCKED = "account_locked"
    LOGIN_ATTEMPTS_IN_PROGRESS = "login_attempts_in_progress"
    ACCOUNT_NOT_VERIFIED = "account_not_verified"
    ACCOUNT_DISABLED = "account_disabled"
    DEVICE_ID_REQUIRED = "device_id_required"
    APP_ID_INVALID = "app_id_invalid"
    REFRESH_TOKEN_INVALID = "refresh_token_invalid"
    SESSION_NOT_FOUND = "session_not_found"
    CREDENTIAL_UNAVAILABLE = "credential_unavailable"
    CREDENTIAL_ALREADY_VERIFIED = "credential_already_verified"
    CHALLENGE_INVALID = "challenge_invalid"
    RECOVERY_CODE_INVALID = "recovery_code_invalid"
    MFA_FACTOR_UNAVAILABLE = "mfa_factor_unavailable"
    STEP_UP_REQUIRED = "step_up_required"
    TOTP_ALREADY_ENABLED = "totp_already_enabled"
    TOTP_NOT_ENABLED = "totp_not_enabled"
    MFA_ATTEMPTS_EXCEEDED = "mfa_attempts_exceeded"
    INTERNAL_ERROR = "internal_error"
    BAD_GATEWAY = "bad_gateway"
    SERVICE_UNAVAILABLE = "service_unavailable"
    GATEWAY_TIMEOUT = "gateway_timeout"


ERRORS: dict[Code, ErrorSpec] = {
    # request shape
    Code.INVALID_JSON: ErrorSpec(400, N_("The request body is not valid JSON.")),
    Code.VALIDATION_FAILED: ErrorSpec(422, N_("Some fields are missing or invalid.")),
    Code.BAD_REQUEST: ErrorSpec(400, N_("The request cannot be processed.")),
    Code.NOT_FOUND: ErrorSpec(404, N_("The requested resource does not exist.")),
    Code.METHOD_NOT_ALLOWED: ErrorSpec(405, N_("This method is not allowed on this resource.")),
    Code.PAYLOAD_TOO_LARGE: ErrorSpec(413, N_("The request body is too large.")),
    Code.REQUEST_TIMEOUT: ErrorSpec(408, N_("The request body did not arrive in time.")),
    Code.UNSUPPORTED_MEDIA_TYPE: ErrorSpec(415, N_("The request body must be JSON.")),
    # callers
    Code.UNAUTHORIZED: ErrorSpec(401, N_("Authentication is required.")),
    Code.FORBIDDEN: ErrorSpec(403, N_("You are not allowed to do this.")),
    Code.RATE_LIMITED: ErrorSpec(429, N_("Too many requests. Please try again later.")),
    # gateway: client applications
    Code.API_KEY_MISSING: ErrorSpec(401, N_("An API key is required (header X-API-Key).")),
    Code.API_KEY_INVALID: ErrorSpec(401, N_("The API key is not valid.")),
    # the admin API: operators' keys, never a client application's key or a user's token
    Code.ADMIN_KEY_INVALID: ErrorSpec(
        401, N_("An admin key is required (Authorization: Bearer tsa_...); this one is not valid.")
    ),
    Code.ADMIN_SCOPE_MISSING: ErrorSpec(
        403, N_("This admin key does not have the scope %(scope)s needed here.")
    ),
    Code.USER_NOT_FOUND: ErrorSpec(404, N_("This user does not exist.")),
    # gateway: OAuth endpoints (RFC 7662 introspection), named after RFC 6749's `invalid_request`
    Code.INVALID_REQUEST: ErrorSpec(
        400,
        N_(
            "The request is malformed: send one token parameter, form-encoded, and "
            "authenticate in one way only."
        ),
    ),
    # access tokens (gateway and any service verifying them)
    Code.TOKEN_INVALID: ErrorSpec(401, N_("The access token is invalid or has expired.")),
    # registration input
    Code.TERMS_NOT_ACCEPTED: ErrorSpec(422, N_("You must accept the terms and conditions.")),
    Code.PRIVACY_POLICY_NOT_ACCEPTED: ErrorSpec(422, N_("You must accept the privacy policy.")),
    Code.INVALID_EMAIL: ErrorSpec(422, N_("This email address is not valid.")),
    Code.INVALID_PHONE: ErrorSpec(
        422, N_("This phone number is not valid. Use the international format, e.g. +41791234567.")
    ),
    Code.PASSWORD_TOO_SHORT: ErrorSpec(
        422, N_("The password must be at least %(min)s characters long.")
    ),
    Code.PASSWORD_TOO_LONG: ErrorSpec(
        422, N_("The password must be at most %(max)s characters long.")
    ),
    Code.PASSWORD_BLANK: ErrorSpec(422, N_("The password must not consist of spaces only.")),
    Code.PASSWORD_TOO_COMMON: ErrorSpec(
        422, N_("This password is too common and easy to guess. Please choose another one.")
    ),
    # one-time codes
    Code.OTP_INVALID: ErrorSpec(400, N_("The code is not correct.")),
    Code.OTP_EXPIRED: ErrorSpec(400, N_("The code has expired. Please request a new one.")),
    Code.OTP_USED: ErrorSpec(409, N_("This code has already been used.")),
    Code.OTP_ATTEMPTS_EXCEEDED: ErrorSpec(
        400, N_("Too many wrong codes were entered. Please request a new one.")
    ),
    Code.RESEND_TOO_SOON: ErrorSpec(
        429, N_("Please wait a moment before requesting another code.")
    ),
    Code.TOO_MANY_CODES: ErrorSpec(
        429, N_("Too many codes were requested. Please try again later.")
    ),
    # signing in
    Code.INVALID_CREDENTIALS: ErrorSpec(401, N_("The username or password is incorrect.")),
    Code.ACCOUNT_LOCKED: ErrorSpec(
        423, N_("Too many failed sign-in attempts. Please try again later.")
    ),
    Code.LOGIN_ATTEMPTS_IN_PROGRESS: ErrorSpec(
        429, N_("Other sign-in attempts for this account are in progress. Please try again.")
    ),
    Code.ACCOUNT_NOT_VERIFIED: ErrorSpec(403, N_("This account has not been verified yet.")),
    Code.ACCOUNT_DISABLED: ErrorSpec(403, N_("This account is disabled.")),
    # sessions
    Code.DEVICE_ID_REQUIRED: ErrorSpec(
        400, N_("A valid X-Device-ID header is required (1 to 128 letters, digits or . _ : -).")
    ),
    Code.APP_ID_INVALID: ErrorSpec(
        400, N_("The X-App-ID header is not valid (1 to 64 letters, digits, _ or -).")
    ),
    Code.REFRESH_TOKEN_INVALID: ErrorSpec(
        401, N_("Your session has expired or is no longer valid. Please sign in again.")
    ),
    Code.SESSION_NOT_FOUND: ErrorSpec(404, N_("This session does not exist or has already ended.")),
    Code.CREDENTIAL_UNAVAILABLE: ErrorSpec(
        409, N_("This address cannot be used for this account.")
    ),
    # second factor
    Code.CREDENTIAL_ALREADY_VERIFIED: ErrorSpec(
        409, N_("Your account already has a verified address of this kind.")
    ),
    Code.CHALLENGE_INVALID: ErrorSpec(
        401,
        N_("This sign-in attempt has expired or was already completed. Please sign in again."),
    ),
    Code.RECOVERY_CODE_INVALID: ErrorSpec(
        400, N_("This recovery code is not valid or has already been used.")
    ),
    Code.MFA_FACTOR_UNAVAILABLE: ErrorSpec(
        422, N_("This sign-in method is not set up on your account.")
    ),
    Code.STEP_UP_REQUIRED: ErrorSpec(
        403, N_("Please confirm this change with a current code from your second factor.")
    ),
    Code.TOTP_ALREADY_ENABLED: ErrorSpec(
        409, N_("An authenticator app is already set up. Remove it before setting up another.")
    ),
    Code.TOTP_NOT_ENABLED: ErrorSpec(409, N_("No authenticator app is set up for this account.")),
    Code.MFA_ATTEMPTS_EXCEEDED: ErrorSpec(
        429, N_("Too many wrong codes for this account. Please try again later.")
    ),
    # the suite itself
    Code.INTERNAL_ERROR: ErrorSpec(500, N_("Something went wrong on our side. Please try again.")),
    Code.BAD_GATEWAY: ErrorSpec(502, N_("An internal service answered incorrectly.")),
    Code.SERVICE_UNAVAILABLE: ErrorSpec(
        503, N_("The service is temporarily unavailable. Please try again shortly.")
    ),
    Code.GATEWAY_TIMEOUT: ErrorSpec(504, N_("An internal service did not answer in time.")),
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
