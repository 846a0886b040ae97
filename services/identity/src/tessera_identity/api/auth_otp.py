"""Guide 003's `/auth/otp/...` and guide 002's `/auth/enable-mfa`, over the same flows as /v1.

Every answer is the user status object (`api/user_status.py`). Codes travel in the `x-otp`
header, as guide 003 shows.
"""

from typing import Annotated, Literal

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody, QueryParameter

from tessera_identity.api.account import ADDRESS_CHECK, NEW_ADDRESS, STEP_UP
from tessera_identity.api.bearer import caller, enrolling, signed_in, user_of
from tessera_identity.api.user_status import UserStatus, user_status
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.mfa import reach_by_channel
from tessera_identity.flows.credentials.service import AddCredential, Credentials, VerifyCredential
from tessera_identity.flows.mfa.factors import ModeChanged
from tessera_identity.flows.mfa.service import Mfa
from tessera_identity.flows.totp.service import Totp, TotpEnrollment
from tessera_shared.errors import Code, TesseraError
from tessera_shared.http.internal import client_ip
from tessera_shared.http.openapi import BEARER, CODE_CAPS, OTP_CHECK, documented
from tessera_shared.http.request import AnyRequest

Channel = Literal["email", "sms", "totp"]
OtpHeader = Annotated[
    str | None,
    HeaderParameter(name="x-otp", description="The code: sent by email/SMS, or shown by the app."),
]


class NewPhone(msgspec.Struct, frozen=True, kw_only=True):
    phone: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    """International (+41791234567), or national in `country`."""
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z]{2}$")]
    """ISO 3166-1 alpha-2 code, e.g. `CH`."""


class ChannelChoice(msgspec.Struct, frozen=True, kw_only=True):
    channel: Channel
    """The method to verify with the code in `x-otp`: `email`, `sms` or `totp`."""


class CodeSent(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    channel: Literal["email", "sms"]
    expires_in: int
    """Seconds the code stays valid."""


class EnableMfa(msgspec.Struct, frozen=True, kw_only=True):
    otp: Annotated[str, msgspec.Meta(max_length=32)] | None = None
    """Leave out to get a secret and QR code; send the app's first code to turn MFA on."""


def _code(otp: str | None) -> str:
    if not otp:
        raise TesseraError(Code.STEP_UP_REQUIRED)
    return otp[:32]


async def _status(
    request: AnyRequest,
    mfa: Mfa,
    *,
    changed: ModeChanged | None = None,
    enrollment: TotpEnrollment | None = None,
) -> UserStatus:
    recovery_codes = changed.recovery_codes if changed else None
    overview = await mfa.overview(user_of(request))
    return user_status(overview, recovery_codes=recovery_codes, enrollment=enrollment)


class AuthOtpController(Controller):
    path = "/auth"
    tags = ("auth surface",)

    @post(
        "/otp/methods/sms",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        opt=documented(*NEW_ADDRESS, Code.FORBIDDEN),
    )
    async def add_phone(
        self,
        request: AnyRequest,
        data: JSONBody[NewPhone],
        credentials: NamedDependency[Credentials],
        mfa: NamedDependency[Mfa],
    ) -> UserStatus:
        """Add a phone number; an SMS code is sent, to verify it with `POST /auth/otp/code`."""
        await credentials.add(
            AddCredential(
                user_id=user_of(request),
                type=CredentialType.PHONE,
                value=data.phone,
                region=data.country.upper(),
                client_ip=client_ip(request),
            )
        )
        return await _status(request, mfa)

    @post(
        "/otp/methods/totp",
        status_code=200,
        guards=[enrolling],
        security=BEARER,
        opt=documented(Code.TOTP_ALREADY_ENABLED, Code.FORBIDDEN),
    )
    async def add_totp(
        self, request: AnyRequest, totp: NamedDependency[Totp], mfa: NamedDependency[Mfa]
    ) -> UserStatus:
        """Create a TOTP secret (not validated yet); validate it with `POST /auth/otp/code`."""
        enrollment = await totp.setup(caller(request))
        return await _status(request, mfa, enrollment=enrollment)

    @delete(
        "/otp/methods/totp",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        opt=documented(*STEP_UP, Code.TOTP_NOT_ENABLED, Code.FORBIDDEN),
    )
    async def remove_totp(
        self,
        request: AnyRequest,
        totp: NamedDependency[Totp],
        mfa: NamedDependency[Mfa],
        otp: OtpHeader = None,
    ) -> UserStatus:
        """Delete the TOTP secret, confirmed by a current code of it in `x-otp`."""
        await totp.remove(user_of(request), _code(otp), client_ip(request))
        return await _status(request, mfa)

    @get(
        "/otp/code",
        guards=[signed_in],
        security=BEARER,
        opt=documented(
            Code.MFA_FACTOR_UNAVAILABLE,
            Code.CREDENTIAL_ALREADY_VERIFIED,
            Code.FORBIDDEN,
            *CODE_CAPS,
        ),
    )
    async def send_code(
        self,
        request: AnyRequest,
        credentials: NamedDependency[Credentials],
        method: Annotated[Channel, QueryParameter(name="method")],
    ) -> CodeSent:
        """Send a code to the email or phone waiting for verification (`totp`: the app has it)."""
        if method == "totp":
            raise TesseraError(Code.MFA_FACTOR_UNAVAILABLE)
        channel = await credentials.resend(
            user_of(request), reach_by_channel(method).credential, client_ip(request)
        )
        return CodeSent(channel=channel, expires_in=credentials.code_ttl_s)

    @post(
        "/otp/code",
        status_code=200,
        guards=[enrolling],
        security=BEARER,
        opt=documented(
            Code.STEP_UP_REQUIRED,
            Code.TOTP_NOT_ENABLED,
            Code.TOTP_ALREADY_ENABLED,
            Code.FORBIDDEN,
            *OTP_CHECK,
            *ADDRESS_CHECK,
        ),
    )
    async def verify_code(
        self,
        request: AnyRequest,
        data: JSONBody[ChannelChoice],
        credentials: NamedDependency[Credentials],
        totp: NamedDependency[Totp],
        mfa: NamedDependency[Mfa],
        otp: OtpHeader = None,
    ) -> UserStatus:
        """Verify a method with the code in `x-otp`; a second verified method turns MFA on."""
        code = _code(otp)
        who = caller(request)
        if data.channel == "totp":
            changed = await totp.confirm(who, code, client_ip(request))
        elif who.challenge_mode is not None:
            raise TesseraError(Code.TOKEN_INVALID)  # a challenge token enrols TOTP only
        else:
            changed = await credentials.verify(
                VerifyCredential(
                    user_id=who.user_id,
                    type=reach_by_channel(data.channel).credential,
                    otp=code,
                    client_ip=client_ip(request),
                )
            )
        return await _status(request, mfa, changed=changed)

    @post(
        "/enable-mfa",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        opt=documented(
            Code.TOTP_ALREADY_ENABLED, Code.TOTP_NOT_ENABLED, Code.FORBIDDEN, *OTP_CHECK
        ),
    )
    async def enable_mfa(
        self,
        request: AnyRequest,
        totp: NamedDependency[Totp],
        mfa: NamedDependency[Mfa],
        data: JSONBody[EnableMfa | None] = None,
    ) -> UserStatus:
        """Guide 002: without `otp`, a TOTP secret and its QR code; with the app's first code,
        MFA is on (`mfa_mode: totp`) and the recovery codes are answered once."""
        if data is None or data.otp is None:
            enrollment = await totp.setup(caller(request))
            return await _status(request, mfa, enrollment=enrollment)
        changed = await totp.confirm(caller(request), data.otp, client_ip(request))
        return await _status(request, mfa, changed=changed)
