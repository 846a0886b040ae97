"""`/v1/users/credentials`, `/v1/users/verify-credential`, `/v1/users/me`, MFA mode and
recovery codes: a signed-in user's own account."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_identity.api.bearer import signed_in, user_of
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.flows.credentials.service import AddCredential, Credentials, VerifyCredential
from tessera_identity.flows.mfa.factors import ModeChanged
from tessera_identity.flows.mfa.service import Mfa, SetMfaMode
from tessera_shared.errors import Code, TesseraError
from tessera_shared.http.internal import client_ip
from tessera_shared.http.locale import request_locale, translator_of
from tessera_shared.http.openapi import ADDRESS_RULES, BEARER, CODE_CAPS, OTP_CHECK, documented
from tessera_shared.http.request import AnyRequest
from tessera_shared.i18n import N_

Otp = Annotated[str, msgspec.Meta(max_length=32)]
# Adding an address (a code is sent there) and checking its code.
NEW_ADDRESS = (
    *ADDRESS_RULES,
    Code.CREDENTIAL_UNAVAILABLE,
    Code.CREDENTIAL_ALREADY_VERIFIED,
    *CODE_CAPS,
)
ADDRESS_CHECK = (
    Code.CREDENTIAL_UNAVAILABLE,
    Code.CREDENTIAL_ALREADY_VERIFIED,
    Code.MFA_FACTOR_UNAVAILABLE,
)
# A security change confirmed with a current code of the second factor.
STEP_UP = (
    Code.STEP_UP_REQUIRED,
    Code.MFA_FACTOR_UNAVAILABLE,
    Code.RECOVERY_CODE_INVALID,
    Code.MFA_ATTEMPTS_EXCEEDED,
    *OTP_CHECK,
)

CODE_SENT = {
    "email": N_("We've sent a verification code to your email. Enter it to confirm the address."),
    "sms": N_("We've sent a verification code to your phone. Enter it to confirm the number."),
}
VERIFIED = N_("Your address has been verified.")
VERIFIED_MFA_ON = N_("Your address has been verified. Two-step verification is now on.")


class NewCredential(msgspec.Struct, frozen=True, kw_only=True):
    type: Literal["email", "phone"]
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    """The e-mail address, or the phone number in international format (+41791234567)."""


class CredentialCodeSent(msgspec.Struct, frozen=True, kw_only=True):
    message: str
    credential_type: Literal["email", "phone"]


class CredentialCheck(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    """Must be the signed-in user (else 403)."""
    credential_type: Literal["email", "phone"]
    otp: Otp


class CredentialVerified(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    message: str
    status: Literal["success"] = "success"
    mfa_mode: str
    """The sign-in second factor now in force: `none`, `email`, `sms` or `totp`."""
    recovery_codes: list[str] | None = None
    """Only when this verification turned MFA on for the first time: store them now, they are
    never shown again."""


class CredentialView(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    value: str
    verified: bool
    verified_at: datetime | None


class TotpView(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool
    """True once confirmed with a first code."""
    confirmed_at: datetime | None


class Me(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    status: str
    locale: str
    name: str | None
    """Display name (`PATCH /v1/users/me`); null when not given."""
    mfa_mode: str
    available_mfa_modes: list[str]
    """What `PUT /v1/users/me/mfa` accepts for this user."""
    credentials: list[CredentialView]
    totp: TotpView


class MfaChoice(msgspec.Struct, frozen=True, kw_only=True):
    mfa_mode: Literal["none", "email", "sms", "totp"]
    otp: Otp | None = None
    """A current code of the present factor; required to turn MFA off."""


class MfaModeAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    mfa_mode: str
    recovery_codes: list[str] | None = None
    """Only when MFA was just turned on for the first time (shown once)."""


class StepUpCodeSent(msgspec.Struct, frozen=True, kw_only=True):
    channel: Literal["email", "sms"]
    expires_in: int
    """Seconds the code stays valid."""


class StepUp(msgspec.Struct, frozen=True, kw_only=True):
    otp: Otp | None = None
    """A current code of the present factor (authenticator app, or one from
    `POST /v1/users/me/mfa/code`)."""


class RecoveryCodes(msgspec.Struct, frozen=True, kw_only=True):
    recovery_codes: list[str]
    """Ten new single-use codes; the previous set no longer works. Shown once."""


def mfa_answer(changed: ModeChanged) -> MfaModeAnswer:
    return MfaModeAnswer(mfa_mode=changed.mfa_mode, recovery_codes=changed.recovery_codes)


class AccountController(Controller):
    path = "/v1/users"
    tags = ("account",)
    guards = (signed_in,)
    security = BEARER

    @post("/credentials", status_code=200, opt=documented(*NEW_ADDRESS, Code.FORBIDDEN))
    async def add_credential(
        self,
        request: AnyRequest,
        data: JSONBody[NewCredential],
        credentials: NamedDependency[Credentials],
    ) -> CredentialCodeSent:
        """Add an email or phone credential; a code is sent to it."""
        user_id = user_of(request)
        channel = await credentials.add(
            AddCredential(
                user_id=user_id,
                type=CredentialType(data.type),
                value=data.value,
                client_ip=client_ip(request),
            )
        )
        message = translator_of(request)(request_locale(request), CODE_SENT[channel])
        return CredentialCodeSent(message=message, credential_type=data.type)

    @post(
        "/verify-credential",
        status_code=200,
        opt=documented(*OTP_CHECK, *ADDRESS_CHECK, Code.FORBIDDEN),
    )
    async def verify_credential(
        self,
        request: AnyRequest,
        data: JSONBody[CredentialCheck],
        credentials: NamedDependency[Credentials],
    ) -> CredentialVerified:
        """Verify an added credential with its code; a second one turns 2FA on."""
        user_id = user_of(request)
        if data.user_id != user_id:
            raise TesseraError(Code.FORBIDDEN)
        changed = await credentials.verify(
            VerifyCredential(
                user_id=user_id,
                type=CredentialType(data.credential_type),
                otp=data.otp,
                client_ip=client_ip(request),
            )
        )
        text = VERIFIED_MFA_ON if changed.recovery_codes else VERIFIED
        return CredentialVerified(
            message=translator_of(request)(request_locale(request), text),
            mfa_mode=changed.mfa_mode,
            recovery_codes=changed.recovery_codes,
        )

    @get("/me", opt=documented(Code.FORBIDDEN))
    async def me(
        self,
        request: AnyRequest,
        mfa: NamedDependency[Mfa],
    ) -> Me:
        """The signed-in user: credentials with their verification dates, MFA mode and app."""
        user_id = user_of(request)
        seen = await mfa.overview(user_id)
        return Me(
            user_id=seen.user_id,
            status=seen.status,
            locale=seen.locale,
            name=seen.name,
            mfa_mode=seen.mfa_mode,
            available_mfa_modes=list[str](seen.available_modes),
            credentials=[
                CredentialView(
                    type=c.type,
                    value=c.value,
                    verified=c.verified_at is not None,
                    verified_at=c.verified_at,
                )
                for c in seen.credentials
            ],
            totp=TotpView(
                enabled=seen.totp is not None and seen.totp.confirmed_at is not None,
                confirmed_at=seen.totp.confirmed_at if seen.totp else None,
            ),
        )

    @put("/me/mfa", status_code=200, opt=documented(*STEP_UP, Code.FORBIDDEN))
    async def set_mfa(
        self,
        request: AnyRequest,
        data: JSONBody[MfaChoice],
        mfa: NamedDependency[Mfa],
    ) -> MfaModeAnswer:
        """Choose the second factor among those the user has; `none` needs a current code."""
        user_id = user_of(request)
        changed = await mfa.set_mode(
            SetMfaMode(
                user_id=user_id,
                mode=MfaMode(data.mfa_mode),
                otp=data.otp,
                client_ip=client_ip(request),
            )
        )
        return mfa_answer(changed)

    @post(
        "/me/mfa/code",
        status_code=200,
        opt=documented(Code.MFA_FACTOR_UNAVAILABLE, Code.FORBIDDEN, *CODE_CAPS),
    )
    async def step_up_code(
        self,
        request: AnyRequest,
        mfa: NamedDependency[Mfa],
    ) -> StepUpCodeSent:
        """Send a code to the email/sms factor, to confirm a security change with it."""
        user_id = user_of(request)
        sent = await mfa.send_step_up_code(user_id, client_ip(request))
        return StepUpCodeSent(channel=sent.channel, expires_in=sent.expires_in_s)

    @post("/recovery-codes", status_code=200, opt=documented(*STEP_UP, Code.FORBIDDEN))
    async def recovery_codes(
        self,
        request: AnyRequest,
        data: JSONBody[StepUp],
        mfa: NamedDependency[Mfa],
    ) -> RecoveryCodes:
        """Replace the recovery codes; needs a current code of the second factor."""
        user_id = user_of(request)
        codes = await mfa.regenerate_recovery_codes(user_id, data.otp, client_ip(request))
        return RecoveryCodes(recovery_codes=codes)
