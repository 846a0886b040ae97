"""`/v1/users/initiate-registration`, `/v1/users/verify-registration`, `/v1/users/resend-code`."""

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_identity.domain.credentials import CredentialType
from tessera_identity.flows.registration.service import (
    InitiateRegistration,
    Registration,
    RegistrationStarted,
    ResendCode,
    VerifyRegistration,
)
from tessera_shared.errors import Code
from tessera_shared.http.internal import client_ip
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.openapi import (
    ADDRESS_RULES,
    CODE_CAPS,
    OTP_CHECK,
    PASSWORD_RULES,
    documented,
)
from tessera_shared.http.request import AnyRequest
from tessera_shared.i18n import N_

SENT = {
    "email": N_(
        "We've sent a verification code to your email. Please check and enter the code to "
        "complete your registration."
    ),
    "sms": N_(
        "We've sent a verification code to your phone. Please check and enter the code to "
        "complete your registration."
    ),
}
ACTIVATED = N_("Your account has been successfully verified and activated.")

REGISTERING = (
    *ADDRESS_RULES,
    *PASSWORD_RULES,
    Code.TERMS_NOT_ACCEPTED,
    Code.PRIVACY_POLICY_NOT_ACCEPTED,
    Code.CREDENTIAL_UNAVAILABLE,
)


class InitiateRegistrationBody(msgspec.Struct, frozen=True, kw_only=True):
    credential_type: Literal["email", "phone"]
    """Which kind of address identifies the new account."""
    credential_value: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    """The e-mail address, or the phone number in international format (+41791234567)."""
    password: Annotated[str, msgspec.Meta(max_length=4096)]
    """8 to 128 characters, not a commonly used password."""
    terms_accepted: bool
    """Must be true."""
    privacy_policy_accepted: bool
    """Must be true."""


class VerifyRegistrationBody(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    """The `user_id` answered by initiate-registration."""
    credential_type: Literal["email", "phone"]
    otp: Annotated[str, msgspec.Meta(max_length=32)]
    """The 6-digit code that was sent."""


class ResendCodeBody(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    credential_type: Literal["email", "phone"]


class CodeSentAnswer(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    user_id: UUID


class ActivatedAnswer(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    status: Literal["success"] = "success"


class RegistrationController(Controller):
    path = "/v1/users"
    tags = ("registration",)

    @post(
        "/initiate-registration",
        status_code=200,
        opt=documented(*REGISTERING, *CODE_CAPS),
    )
    async def initiate(
        self,
        request: AnyRequest,
        data: JSONBody[InitiateRegistrationBody],
        registration: NamedDependency[Registration],
    ) -> CodeSentAnswer:
        """Start a registration: a pending account and a code sent to the address."""
        started = await registration.initiate(
            InitiateRegistration(
                credential_type=CredentialType(data.credential_type),
                credential_value=data.credential_value,
                password=data.password,
                terms_accepted=data.terms_accepted,
                privacy_policy_accepted=data.privacy_policy_accepted,
                locale=request_locale(request),
                client_ip=client_ip(request),
            )
        )
        return _code_sent(request, started)

    @post("/verify-registration", status_code=200, opt=documented(*OTP_CHECK))
    async def verify(
        self,
        request: AnyRequest,
        data: JSONBody[VerifyRegistrationBody],
        registration: NamedDependency[Registration],
    ) -> ActivatedAnswer:
        """Activate the account with the code that was sent."""
        await registration.verify(
            VerifyRegistration(
                user_id=data.user_id,
                credential_type=CredentialType(data.credential_type),
                otp=data.otp,
            )
        )
        return ActivatedAnswer(message=translator_of(request)(request_locale(request), ACTIVATED))

    @post("/resend-code", status_code=200, opt=documented(Code.OTP_USED, *CODE_CAPS))
    async def resend(
        self,
        request: AnyRequest,
        data: JSONBody[ResendCodeBody],
        registration: NamedDependency[Registration],
    ) -> CodeSentAnswer:
        """Send a new code for a pending registration (one per minute, a few per hour)."""
        started = await registration.resend(
            ResendCode(
                user_id=data.user_id,
                credential_type=CredentialType(data.credential_type),
                client_ip=client_ip(request),
            )
        )
        return _code_sent(request, started)


def _code_sent(request: AnyRequest, started: RegistrationStarted) -> CodeSentAnswer:
    message = translator_of(request)(request_locale(request), SENT[started.channel])
    return CodeSentAnswer(message=message, user_id=started.user_id)
