"""`/v1/users/password-reset/...` (public: a forgotten password) and `PUT /v1/users/me/password`
(signed in: a change with the current password)."""

from typing import Annotated

import msgspec
from litestar import Controller, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_identity.api.bearer import session_of, signed_in, user_of
from tessera_identity.flows.password.service import (
    ChangePassword,
    Passwords,
    RequestPasswordReset,
    ResetPassword,
)
from tessera_shared.errors import Code
from tessera_shared.http.internal import client_ip
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.openapi import BEARER, CODE_CAPS, OTP_CHECK, PASSWORD_RULES, documented
from tessera_shared.http.request import AnyRequest
from tessera_shared.i18n import N_

Username = Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
Password = Annotated[str, msgspec.Meta(max_length=4096)]
# Setting a new password with a code sent to the address.
RESET = (*OTP_CHECK, *PASSWORD_RULES, Code.ACCOUNT_LOCKED, Code.FORBIDDEN, Code.TOO_MANY_CODES)

RESET_REQUESTED = N_(
    "If an account exists for this address, we've sent it a code to reset the password."
)
RESET_DONE = N_(
    "Your password has been reset and every session was signed out. Sign in with the new password."
)
CHANGED = N_("Your password has been changed. Your other sessions were signed out.")


class ResetRequestBody(msgspec.Struct, frozen=True, kw_only=True):
    username: Username
    """The e-mail address or phone number (international format) the account signs in with."""


class ResetConfirmBody(msgspec.Struct, frozen=True, kw_only=True):
    username: Username
    """As in the request."""
    otp: Annotated[str, msgspec.Meta(max_length=32)]
    """The 6-digit code that was sent."""
    new_password: Password
    """8 to 128 characters, not a commonly used password."""


class PasswordChangeBody(msgspec.Struct, frozen=True, kw_only=True):
    current_password: Password
    new_password: Password
    """8 to 128 characters, not a commonly used password."""


class Done(msgspec.Struct, frozen=True, kw_only=True):
    message: str


def _done(request: AnyRequest, text: str) -> Done:
    return Done(message=translator_of(request)(request_locale(request), text))


class PasswordResetController(Controller):
    path = "/v1/users/password-reset"
    tags = ("password",)

    @post("/request", status_code=200, opt=documented(*CODE_CAPS))
    async def request_reset(
        self,
        request: AnyRequest,
        data: JSONBody[ResetRequestBody],
        passwords: NamedDependency[Passwords],
    ) -> Done:
        """Send a reset code to the address; the answer is the same whether it has an account."""
        await passwords.request_reset(
            RequestPasswordReset(username=data.username, client_ip=client_ip(request))
        )
        return _done(request, RESET_REQUESTED)

    @post("/confirm", status_code=200, opt=documented(*RESET))
    async def confirm_reset(
        self,
        request: AnyRequest,
        data: JSONBody[ResetConfirmBody],
        passwords: NamedDependency[Passwords],
    ) -> Done:
        """Set a new password with the code; every session of the account ends."""
        await passwords.reset(
            ResetPassword(
                username=data.username,
                otp=data.otp,
                new_password=data.new_password,
                client_ip=client_ip(request),
            )
        )
        return _done(request, RESET_DONE)


class PasswordChangeController(Controller):
    path = "/v1/users/me"
    tags = ("password",)
    guards = (signed_in,)
    security = BEARER

    @put(
        "/password",
        status_code=200,
        opt=documented(
            *PASSWORD_RULES,
            Code.INVALID_CREDENTIALS,
            Code.ACCOUNT_LOCKED,
            Code.LOGIN_ATTEMPTS_IN_PROGRESS,
            Code.FORBIDDEN,
        ),
    )
    async def change(
        self,
        request: AnyRequest,
        data: JSONBody[PasswordChangeBody],
        passwords: NamedDependency[Passwords],
    ) -> Done:
        """Change the password with the current one; every other session ends."""
        await passwords.change(
            ChangePassword(
                user_id=user_of(request),
                current_password=data.current_password,
                new_password=data.new_password,
                client_ip=client_ip(request),
                keep_session=session_of(request),
            )
        )
        return _done(request, CHANGED)
