"""`/v1/users/totp/...`: set up, confirm and remove an authenticator app.

Setup and confirm also take an MFA challenge token as Bearer (enrolment during a sign-in that
requires TOTP); removal needs an access token and a current code in `X-OTP`.
"""

from typing import Annotated

import msgspec
from litestar import Controller, delete, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_identity.api.account import STEP_UP, MfaModeAnswer, mfa_answer
from tessera_identity.api.bearer import caller, enrolling, signed_in, user_of
from tessera_identity.flows.totp.service import Totp
from tessera_shared.errors import Code
from tessera_shared.http.internal import client_ip
from tessera_shared.http.openapi import BEARER, OTP, OTP_CHECK, documented
from tessera_shared.http.request import AnyRequest


class TotpSetup(msgspec.Struct, frozen=True, kw_only=True):
    secret: str
    """Base32 secret, for typing into an app by hand."""
    otpauth_uri: str
    """`otpauth://totp/<issuer>:<account>?secret=…&issuer=…`, what the QR code holds."""
    qr_code: str
    """The URI as a QR code: an SVG `data:` URI, usable as `<img src>`."""


class TotpCode(msgspec.Struct, frozen=True, kw_only=True):
    otp: Annotated[str, msgspec.Meta(max_length=32)]
    """The 6-digit code the app shows now."""


class TotpController(Controller):
    path = "/v1/users/totp"
    tags = ("account",)

    @post(
        "/setup",
        status_code=200,
        guards=[enrolling],
        security=BEARER,
        opt=documented(Code.TOTP_ALREADY_ENABLED, Code.FORBIDDEN),
    )
    async def setup(
        self,
        request: AnyRequest,
        totp: NamedDependency[Totp],
    ) -> TotpSetup:
        """A new secret to scan; it works only after `confirm`."""
        enrollment = await totp.setup(caller(request))
        return TotpSetup(
            secret=enrollment.secret, otpauth_uri=enrollment.uri, qr_code=enrollment.qr_code
        )

    @post(
        "/confirm",
        status_code=200,
        guards=[enrolling],
        security=BEARER,
        opt=documented(
            Code.TOTP_NOT_ENABLED, Code.TOTP_ALREADY_ENABLED, Code.FORBIDDEN, *OTP_CHECK
        ),
    )
    async def confirm(
        self,
        request: AnyRequest,
        data: JSONBody[TotpCode],
        totp: NamedDependency[Totp],
    ) -> MfaModeAnswer:
        """Turn the app on with its first code; it becomes the sign-in factor (`totp`)."""
        return mfa_answer(await totp.confirm(caller(request), data.otp, client_ip(request)))

    @delete(
        "/",
        status_code=200,
        guards=[signed_in],
        security=BEARER,
        opt=documented(*STEP_UP, Code.TOTP_NOT_ENABLED, Code.FORBIDDEN, headers=[OTP]),
    )
    async def remove(
        self,
        request: AnyRequest,
        totp: NamedDependency[Totp],
    ) -> MfaModeAnswer:
        """Remove the app, confirmed by a current code of it in the `X-OTP` header."""
        user_id = user_of(request)
        otp = request.headers.get("x-otp", "")[:32] or None
        return mfa_answer(await totp.remove(user_id, otp, client_ip(request)))
