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
    "unsupported_media_type": ErrorSpec(415, N_("The request body must be JSON.")),
    # callers
    "unauthorized": ErrorSpec(401, N_("Authentication is required.")),
    "forbidden": ErrorSpec(403, N_("You are not allowed to do this.")),
    "rate_limited": ErrorSpec(429, N_("Too many requests. Please try again later.")),
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
}
