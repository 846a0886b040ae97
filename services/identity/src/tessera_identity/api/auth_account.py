"""Guide 002's account routes of the `/auth` surface, over the same flows as /v1.

camelCase bodies like guide 003. `/auth/register` makes an account that is active at once and
signs in before its email is verified (`hasValidatedEmail: false` until `POST /auth/otp/code`);
an address already in use answers alike and its owner gets a notice (no enumeration).
"""

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from msgspec import UNSET, UnsetType

from tessera_identity.api.account import NEW_ADDRESS
from tessera_identity.api.bearer import signed_in, user_of
from tessera_identity.api.password import RESET, RESET_DONE, RESET_REQUESTED
from tessera_identity.api.registration import REGISTERING
from tessera_identity.api.user_status import UserStatus, user_status
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.flows.email_change.service import (
    ConfirmEmailChange,
    EmailChange,
    RequestEmailChange,
)
from tessera_identity.flows.mfa.service import Mfa
from tessera_identity.flows.password.service import Passwords, RequestPasswordReset, ResetPassword
from tessera_identity.flows.profile.service import Profiles, UpdateProfile
from tessera_identity.flows.registration.service import InitiateRegistration, Registration
from tessera_shared.errors import Code
from tessera_shared.http.internal import client_ip
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.openapi import BEARER, CODE_CAPS, OTP_CHECK, documented
from tessera_shared.http.request import AnyRequest
from tessera_shared.i18n import N_

REGISTERED = N_("Your account has been created. We've sent a code to your email to verify it.")


class Register(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    password: Annotated[str, msgspec.Meta(max_length=4096)]
    """8 to 128 characters, not a commonly used password."""
    terms_accepted: bool
    """Must be true."""
    privacy_policy_accepted: bool
    """Must be true."""


class Registered(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    user_id: UUID
    message: str


class UpdateUser(msgspec.Struct, frozen=True, kw_only=True):
    name: Annotated[str, msgspec.Meta(max_length=200)] | UnsetType | None = UNSET
    """Display name, 1 to 100 characters; null clears it."""
    locale: Literal["en", "de", "fr", "it"] | UnsetType = UNSET
    """Language of answers, emails and SMS."""
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)] | UnsetType = UNSET
    """A new address: a code goes there (finish with `PUT /auth/update-email`), a notice to the
    current one; the address changes only once the code is entered."""


class ResetRequest(msgspec.Struct, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    """The account's email (a phone number works too)."""


class PasswordReset(msgspec.Struct, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    otp: Annotated[str, msgspec.Meta(max_length=32)]
    """The code sent by `POST /auth/request-reset-password`."""
    password: Annotated[str, msgspec.Meta(max_length=4096)]
    """The new password: 8 to 128 characters, not a common one."""


class Message(msgspec.Struct, frozen=True, kw_only=True):
    message: str


class EmailCode(msgspec.Struct, frozen=True, kw_only=True):
    otp: Annotated[str, msgspec.Meta(max_length=32)]
    """The code sent to the new address (the change began with `PUT /auth/update-user`)."""


class AuthAccountController(Controller):
    path = "/auth"
    tags = ("auth surface",)

    @post("/register", status_code=200, opt=documented(*REGISTERING, *CODE_CAPS))
    async def register(
        self,
        request: AnyRequest,
        data: JSONBody[Register],
        registration: NamedDependency[Registration],
    ) -> Registered:
        """Create an account; it may sign in at once, and verifies its email with a code."""
        started = await registration.register_active(
            InitiateRegistration(
                credential_type=CredentialType.EMAIL,
                credential_value=data.email,
                password=data.password,
                terms_accepted=data.terms_accepted,
                privacy_policy_accepted=data.privacy_policy_accepted,
                locale=request_locale(request),
                client_ip=client_ip(request),
            )
        )
        message = translator_of(request)(request_locale(request), REGISTERED)
        return Registered(user_id=started.user_id, message=message)

    @put(
        "/update-email",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        opt=documented(*OTP_CHECK, Code.CREDENTIAL_UNAVAILABLE, Code.FORBIDDEN),
    )
    async def update_email(
        self,
        request: AnyRequest,
        data: JSONBody[EmailCode],
        email_change: NamedDependency[EmailChange],
        mfa: NamedDependency[Mfa],
    ) -> UserStatus:
        """Finalize the email change with the code sent to the new address."""
        user_id = user_of(request)
        await email_change.confirm(
            ConfirmEmailChange(user_id=user_id, otp=data.otp, client_ip=client_ip(request))
        )
        return user_status(await mfa.overview(user_id))

    @put(
        "/update-user",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        opt=documented(*NEW_ADDRESS, Code.FORBIDDEN),
    )
    async def update_user(
        self,
        request: AnyRequest,
        data: JSONBody[UpdateUser],
        profiles: NamedDependency[Profiles],
        email_change: NamedDependency[EmailChange],
        mfa: NamedDependency[Mfa],
    ) -> UserStatus:
        """Change the name and language; a new `email` starts the email change."""
        user_id = user_of(request)
        if not (isinstance(data.name, UnsetType) and isinstance(data.locale, UnsetType)):
            await profiles.update(
                UpdateProfile(
                    user_id=user_id,
                    name=data.name,
                    locale=data.locale,
                    client_ip=client_ip(request),
                )
            )
        if not isinstance(data.email, UnsetType):
            await email_change.request(
                RequestEmailChange(
                    user_id=user_id, new_email=data.email, client_ip=client_ip(request)
                )
            )
        return user_status(await mfa.overview(user_id))

    @post("/request-reset-password", status_code=200, opt=documented(*CODE_CAPS))
    async def request_reset(
        self,
        request: AnyRequest,
        data: JSONBody[ResetRequest],
        passwords: NamedDependency[Passwords],
    ) -> Message:
        """Send a reset code; the answer is the same whether or not the account exists."""
        await passwords.request_reset(
            RequestPasswordReset(username=data.email, client_ip=client_ip(request))
        )
        return Message(message=translator_of(request)(request_locale(request), RESET_REQUESTED))

    @post("/reset-password", status_code=200, opt=documented(*RESET))
    async def reset(
        self,
        request: AnyRequest,
        data: JSONBody[PasswordReset],
        passwords: NamedDependency[Passwords],
    ) -> Message:
        """Set a new password with the code; every session of the account ends."""
        await passwords.reset(
            ResetPassword(
                username=data.email,
                otp=data.otp,
                new_password=data.password,
                client_ip=client_ip(request),
            )
        )
        return Message(message=translator_of(request)(request_locale(request), RESET_DONE))
