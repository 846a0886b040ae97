"""`POST /v1/verify-2FA`: the MFA challenge and its second factor become a full session."""

from typing import Annotated

import msgspec
from litestar import Controller, Response, post
from litestar.di import NamedDependency
from litestar.params import HeaderParameter, JSONBody

from tessera_session.api.client import client_of
from tessera_session.api.tokens import TokenAnswer, with_cookie
from tessera_session.config import SessionSettings
from tessera_session.service.second_factor import SecondFactorSignIn
from tessera_shared.errors import Code, FieldError, TesseraError
from tessera_shared.http.openapi import APP_ID, DEVICE_ID, SECOND_FACTOR, documented
from tessera_shared.http.request import AnyRequest

ChallengeHeader = Annotated[
    str | None,
    HeaderParameter(
        name="x-mfa-challenge",
        description="The `challenge_token` of the /v1/authenticate answer.",
    ),
]


class SecondFactor(msgspec.Struct, frozen=True, kw_only=True):
    """Exactly one of `otp` and `recovery_code`."""

    otp: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    """The code sent by email or SMS, or the current code of the authenticator app."""
    recovery_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    """One of the user's recovery codes, instead of `otp`; each works once."""


def proof_of(body: SecondFactor) -> tuple[str, bool]:
    """(code, whether it is a recovery code); 422 unless exactly one field is given."""
    if body.otp is not None and body.recovery_code is not None:
        raise TesseraError(
            Code.VALIDATION_FAILED,
            details=[FieldError(field="recovery_code", code="unknown_field", message="")],
        )
    if body.recovery_code is not None:
        return body.recovery_code, True
    if body.otp is None:
        raise TesseraError(
            Code.VALIDATION_FAILED,
            details=[FieldError(field="otp", code="missing_field", message="")],
        )
    return body.otp, False


class MfaController(Controller):
    path = "/v1"
    tags = ("sessions",)

    @post(
        "/verify-2FA",
        status_code=200,
        opt=documented(
            Code.DEVICE_ID_REQUIRED,
            Code.APP_ID_INVALID,
            Code.UNAUTHORIZED,
            *SECOND_FACTOR,
            headers=[DEVICE_ID, APP_ID],
        ),
    )
    async def verify(
        self,
        request: AnyRequest,
        data: JSONBody[SecondFactor],
        second_factor: NamedDependency[SecondFactorSignIn],
        settings: NamedDependency[SessionSettings],
        challenge: ChallengeHeader = None,
    ) -> Response[TokenAnswer]:
        """Complete an MFA sign-in: access token + refresh cookie, like /v1/authenticate."""
        client = client_of(request, settings.default_app_id)
        if not challenge or not challenge.strip():
            raise TesseraError(Code.UNAUTHORIZED)
        code, recovery = proof_of(data)
        tokens = await second_factor.verify(
            challenge.strip(), code, recovery=recovery, client=client
        )
        return with_cookie(tokens, client.app_id, settings)
