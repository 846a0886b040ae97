"""Second-factor codes for a login: sent to the channel of the user's `mfa_mode`."""

from typing import Literal
from uuid import UUID

import msgspec

from tessera_identity.domain.mfa import reach_by_channel, reach_by_mode
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.flows.codes.service import CodeIssued, Codes
from tessera_identity.ports import Clock, UnitOfWorkFactory
from tessera_shared.errors import Code, TesseraError


class SendLoginCode(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    client_ip: str
    channel: Literal["email", "sms"] | None = None
    """Defaults to the channel of the user's mfa_mode."""


class LoginCodes:
    def __init__(self, uow: UnitOfWorkFactory, codes: Codes, clock: Clock) -> None:
        self._uow = uow
        self._codes = codes
        self._clock = clock

    async def send(self, cmd: SendLoginCode) -> CodeIssued:
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id)
            if user is None:
                raise TesseraError(Code.BAD_REQUEST)
            reach = reach_by_channel(cmd.channel) if cmd.channel else reach_by_mode(user.mfa_mode)
            if reach is None:
                raise TesseraError(Code.BAD_REQUEST)
            credential = await uow.users.credential(user.id, reach.credential)
            if credential is None or credential.verified_at is None:
                raise TesseraError(Code.BAD_REQUEST)
            await uow.users.lock_address(credential.type, credential.value)
            sent = await self._codes.send_code(
                uow, user, credential.type, credential.value, OtpPurpose.LOGIN, cmd.client_ip, now
            )
            await uow.commit()
        return sent

    async def verify(self, user_id: UUID, otp: str) -> None:
        async with self._uow() as uow:
            await self._codes.accept(uow, user_id, OtpPurpose.LOGIN, otp, self._clock.now())
            await uow.commit()
