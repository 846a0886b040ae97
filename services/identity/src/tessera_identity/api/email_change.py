"""`/v1/users/me/email` and `/v1/users/me/email/confirm`: changing the account's email."""

from typing import Annotated

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_identity.api.account import NEW_ADDRESS
from tessera_identity.api.bearer import signed_in, user_of
from tessera_identity.flows.email_change.service import (
    ConfirmEmailChange,
    EmailChange,
    RequestEmailChange,
)
from tessera_shared.errors import Code
from tessera_shared.http.internal import client_ip
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.openapi import BEARER, OTP_CHECK, documented
from tessera_shared.http.request import AnyRequest
from tessera_shared.i18n import N_

CODE_SENT = N_("We've sent a code to your new address. Enter it to complete the change.")
CHANGED = N_("Your email address has been changed.")


class NewEmail(msgspec.Struct, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    """The new address; a code goes there, a notice to the current one."""


class EmailCode(msgspec.Struct, frozen=True, kw_only=True):
    otp: Annotated[str, msgspec.Meta(max_length=32)]
    """The code sent to the new address."""


class EmailChangeStarted(msgspec.Struct, frozen=True, kw_only=True):
    message: str


class EmailChanged(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    email: str
    """The account's address from now on; the old one no longer signs in."""


class EmailChangeController(Controller):
    path = "/v1/users/me/email"
    tags = ("account",)
    guards = (signed_in,)
    security = BEARER

    @post("/", status_code=200, opt=documented(*NEW_ADDRESS, Code.FORBIDDEN))
    async def request_change(
        self,
        request: AnyRequest,
        data: JSONBody[NewEmail],
        email_change: NamedDependency[EmailChange],
    ) -> EmailChangeStarted:
        """Start changing the email: the change completes with the code sent to the new one."""
        await email_change.request(
            RequestEmailChange(
                user_id=user_of(request), new_email=data.email, client_ip=client_ip(request)
            )
        )
        return EmailChangeStarted(
            message=translator_of(request)(request_locale(request), CODE_SENT)
        )

    @post(
        "/confirm",
        status_code=200,
        opt=documented(*OTP_CHECK, Code.CREDENTIAL_UNAVAILABLE, Code.FORBIDDEN),
    )
    async def confirm(
        self,
        request: AnyRequest,
        data: JSONBody[EmailCode],
        email_change: NamedDependency[EmailChange],
    ) -> EmailChanged:
        """Complete the change with the code sent to the new address."""
        address = await email_change.confirm(
            ConfirmEmailChange(user_id=user_of(request), otp=data.otp, client_ip=client_ip(request))
        )
        message = translator_of(request)(request_locale(request), CHANGED)
        return EmailChanged(message=message, email=address)
