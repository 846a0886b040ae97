"""The answers of a sign-in: the full session (authenticate, verify-2FA, refresh) with this app's
refresh cookie, and the fields of the MFA step both surfaces answer instead."""

from typing import TypedDict

import msgspec
from litestar import Response
from litestar.datastructures import Cookie
from msgspec import UNSET, UnsetType

from tessera_session.api.client import cookie_name
from tessera_session.config import SessionSettings
from tessera_session.service.sign_in import MfaRequired
from tessera_session.service.start import Tokens

REFRESH_PATH = "/v1/refresh-token"


class TokenAnswer(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    expires_in: int
    """Seconds until the access token expires."""
    user_id: str


class MfaStepFields(TypedDict):
    mfa_mode: str
    challenge_token: str
    user_id: str
    totp_setup_required: bool | UnsetType


def mfa_step_fields(step: MfaRequired) -> MfaStepFields:
    """The MFA step as /v1 and /auth answer it: `totp_setup_required` only when it is true."""
    return MfaStepFields(
        mfa_mode=step.mfa_mode,
        challenge_token=step.challenge_token,
        user_id=step.user_id,
        totp_setup_required=True if step.totp_setup_required else UNSET,
    )


def with_cookie(tokens: Tokens, app_id: str, settings: SessionSettings) -> Response[TokenAnswer]:
    """The tokens in the body, the refresh token only in the HTTP-only cookie of `app_id`."""
    cookie = _cookie(app_id, tokens.refresh_token, settings.refresh_ttl_s, settings)
    answer = TokenAnswer(
        access_token=tokens.access_token, expires_in=tokens.expires_in, user_id=tokens.user_id
    )
    return Response(answer, cookies=[cookie], headers={"cache-control": "no-store"})


def cleared_cookie(app_id: str, settings: SessionSettings) -> Cookie:
    """The refresh cookie of `app_id`, emptied and expired (logout)."""
    return _cookie(app_id, "", 0, settings)


def _cookie(app_id: str, value: str, max_age: int, settings: SessionSettings) -> Cookie:
    return Cookie(
        key=cookie_name(settings.cookie_name, app_id),
        value=value,
        max_age=max_age,
        path=REFRESH_PATH,
        httponly=True,
        secure=settings.cookie_secure,
        samesite=settings.cookie_samesite,
    )
