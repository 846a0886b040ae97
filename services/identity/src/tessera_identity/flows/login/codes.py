"""Second-factor codes for a login: sent to the channel of the user's `mfa_mode`."""

from typing import Literal
from uuid import UUID

import msgspec

from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.flows.codes.service import Codes, Recipient, raise_for
from tessera_identity.ports import Clock, UnitOfWorkFactory
from tessera_shared.contracts.events import Channel
from tessera_shared.errors import TesseraError

MODE_CHANNEL: dict[str, tuple[str, Channel]] = {
    "email": ("email", "email"),
    "sms": ("phone", "sms"),
}


class SendLoginCode(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    client_ip: str
    channel: Literal["email", "sms"] | None = None
    """Defaults to the channel of the user's mfa_mode."""


class CodeSent(msgspec.Struct, frozen=True, kw_only=True):
    channel: Channel
    expires_in_s: int


class LoginCodes:
    def __init__(self, uow: UnitOfWorkFactory, codes: Codes, clock: Clock) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock

    async def send(self, cmd: SendLoginCode) -> CodeSent:
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id)
            mode: str = cmd.channel or (user.mfa_mode if user else "")
            if user is None or mode not in MODE_CHANNEL:
                raise TesseraError("bad_request")
            credential_type, channel = MODE_CHANNEL[mode]
            credential = await uow.users.credential(user.id, credential_type)
            if credential is None or credential.verified_at is None:
                raise TesseraError("bad_request")
            await uow.users.lock_address(credential.type, credential.value)
            await self._codes.check_caps(uow, credential.value, cmd.client_ip, now)
            to = Recipient(
                user_id=user.id, channel=channel, address=credential.value, locale=user.locale
            )
            await self._codes.issue(uow, to, OtpPurpose.LOGIN, cmd.client_ip, now)
        return CodeSent(channel=channel, expires_in_s=self._codes.policy.ttl_s)

    async def verify(self, user_id: UUID, otp: str) -> None:
        async with self._uow() as uow:
            verdict, _ = await self._codes.verdict(
                uow, user_id, OtpPurpose.LOGIN, otp, self._clock.now()
            )
        raise_for(verdict)
