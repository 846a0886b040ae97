"""`/internal/v1/...`: password and code checks for the session service only."""

from typing import Literal

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from tessera_identity.domain.mfa import MfaMode
from tessera_identity.flows.login.codes import LoginCodes, SendLoginCode
from tessera_identity.flows.login.service import Login, VerifyPassword
from tessera_identity.flows.mfa.service import Mfa
from tessera_identity.flows.totp.service import Totp
from tessera_shared.contracts.internal import (
    Account,
    CodeAccepted,
    CodeCheck,
    CodeRequest,
    CodeSent,
    PasswordCheck,
    RecoveryCodeUse,
    TotpCheck,
)
from tessera_shared.http.internal import internal_caller

WireMode = Literal["none", "email", "sms", "totp"]

WIRE_MODE: dict[MfaMode, WireMode] = {
    MfaMode.NONE: "none",
    MfaMode.EMAIL: "email",
    MfaMode.SMS: "sms",
    MfaMode.TOTP: "totp",
}
"""The mode as the internal contract spells it (a literal: the shared library knows no enum)."""


class InternalController(Controller):
    path = "/internal/v1"
    guards = (internal_caller,)
    include_in_schema = False

    @post("/password/verify", status_code=200)
    async def verify_password(
        self, data: JSONBody[PasswordCheck], login: NamedDependency[Login]
    ) -> Account:
        result = await login.verify_password(
            VerifyPassword(
                username=data.username,
                password=data.password,
                client_ip=data.client_ip,
                user_agent=data.user_agent,
            )
        )
        return Account(
            user_id=result.user_id,
            status=result.status,
            mfa_mode=WIRE_MODE[result.mfa_mode],
            locale=result.locale,
            credential_version=result.credential_version,
        )

    @post("/codes/send", status_code=200)
    async def send_code(
        self, data: JSONBody[CodeRequest], login_codes: NamedDependency[LoginCodes]
    ) -> CodeSent:
        sent = await login_codes.send(
            SendLoginCode(user_id=data.user_id, client_ip=data.client_ip, channel=data.channel)
        )
        return CodeSent(channel=sent.channel, expires_in_s=sent.expires_in_s)

    @post("/codes/verify", status_code=200)
    async def verify_code(
        self, data: JSONBody[CodeCheck], login_codes: NamedDependency[LoginCodes]
    ) -> CodeAccepted:
        await login_codes.verify(data.user_id, data.otp)
        return CodeAccepted()

    @post("/totp/verify", status_code=200)
    async def verify_totp(
        self, data: JSONBody[TotpCheck], totp: NamedDependency[Totp]
    ) -> CodeAccepted:
        await totp.verify(data.user_id, data.otp)
        return CodeAccepted()

    @post("/recovery-codes/use", status_code=200)
    async def use_recovery_code(
        self, data: JSONBody[RecoveryCodeUse], mfa: NamedDependency[Mfa]
    ) -> CodeAccepted:
        await mfa.use_recovery_code(
            data.user_id, data.code, data.client_ip, disable_mfa=data.disable_mfa
        )
        return CodeAccepted()
