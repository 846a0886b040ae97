"""Issuing and checking one-time codes, and asking otp-delivery to send messages.

The one sender of every flow (like Kratos' `code.Sender`): flows say what goes to whom
(`send_code`, `notify`); the recipient, its channel and the hourly caps are decided here.
"""

import uuid
from datetime import datetime, timedelta
from typing import Self
from uuid import UUID

import msgspec

from tessera_identity.domain.code_policy import CodePolicy, cooldown_left
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.mfa import channel_for
from tessera_identity.domain.otp import (
    VERDICT_ERRORS,
    OtpPurpose,
    Verdict,
    generate_code,
    hash_code,
    judge,
)
from tessera_identity.ports import NewOtp, UnitOfWork, User
from tessera_shared.contracts.events import EVENT_ENCODER, Channel, DeliveryKind, DeliveryRequested
from tessera_shared.contracts.streams import OtpStream
from tessera_shared.errors import Code, TesseraError
from tessera_shared.telemetry import trace_headers

CODE_KIND: dict[OtpPurpose, DeliveryKind] = {
    OtpPurpose.REGISTRATION: DeliveryKind.REGISTRATION_CODE,
    OtpPurpose.LOGIN: DeliveryKind.LOGIN_CODE,
    OtpPurpose.CREDENTIAL: DeliveryKind.CREDENTIAL_CODE,
    OtpPurpose.PASSWORD_RESET: DeliveryKind.PASSWORD_RESET_CODE,
    OtpPurpose.STEP_UP: DeliveryKind.SECURITY_CODE,
    OtpPurpose.EMAIL_CHANGE: DeliveryKind.CREDENTIAL_CODE,
}


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    """Built here only: the channel follows the credential type, the language the user."""

    user_id: UUID
    channel: Channel
    address: str
    locale: str

    @classmethod
    def of(cls, user: User, kind: CredentialType, address: str) -> Self:
        return cls(user_id=user.id, channel=channel_for(kind), address=address, locale=user.locale)


class CodeIssued(msgspec.Struct, frozen=True, kw_only=True):
    """A code went out: by which channel, valid for how long."""

    channel: Channel
    expires_in_s: int


class Codes:
    """Codes and messages; every method works inside the caller's unit of work."""

    def __init__(self, policy: CodePolicy, key: bytes, key_id: str, stream: OtpStream) -> None:
        self.policy = policy
        self._key = key
        self._key_id = key_id
        self._stream = stream

    async def check_caps(
        self, uow: UnitOfWork, address: str, client_ip: str, now: datetime
    ) -> None:
        """Refuse when this address or client IP had too many messages in the last hour."""
        since = now - timedelta(hours=1)
        if (
            await uow.ledger.count_to(address, since) >= self.policy.per_recipient_per_hour
            or await uow.ledger.count_from(client_ip, since) >= self.policy.per_ip_per_hour
        ):
            raise TesseraError(Code.TOO_MANY_CODES, headers={"retry-after": "3600"})

    async def check_cooldown(self, uow: UnitOfWork, address: str, now: datetime) -> None:
        left = cooldown_left(self.policy, await uow.ledger.last_to(address), now)
        if left:
            raise TesseraError(Code.RESEND_TOO_SOON, headers={"retry-after": str(left)})

    async def send_code(
        self,
        uow: UnitOfWork,
        user: User,
        kind: CredentialType,
        address: str,
        purpose: OtpPurpose,
        client_ip: str,
        now: datetime,
        *,
        cooldown: bool = False,
    ) -> CodeIssued:
        """A new code of `purpose` to `address` (older ones stop counting), within the hourly
        caps (and, with `cooldown`, not sooner than the resend cool-down)."""
        if cooldown:
            await self.check_cooldown(uow, address, now)
        await self.check_caps(uow, address, client_ip, now)
        to = Recipient.of(user, kind, address)
        otp_id = uuid.uuid4()
        code = generate_code()
        await uow.otps.add(
            NewOtp(
                id=otp_id,
                user_id=to.user_id,
                purpose=purpose,
                channel=to.channel,
                recipient=to.address,
                code_hash=hash_code(self._key, otp_id, code),
                key_id=self._key_id,
                max_attempts=self.policy.max_attempts,
                expires_at=now + timedelta(seconds=self.policy.ttl_s),
            )
        )
        await self._send(uow, to, CODE_KIND[purpose], client_ip, now, code=code)
        return CodeIssued(channel=to.channel, expires_in_s=self.policy.ttl_s)

    async def notify(
        self,
        uow: UnitOfWork,
        user: User,
        kind: DeliveryKind,
        client_ip: str,
        now: datetime,
        *,
        to: tuple[CredentialType, str] | None = None,
        counted: bool = False,
        erased: bool = False,
    ) -> None:
        """A notice to the address `to` (type, value), by default to the user's contact
        (nothing when there is none). `erased`: the account is gone, so the outbox keeps no
        copy of the address once the notice is published.

        Not `counted` against the caps by default: a security notice goes out even when they
        are reached, and a stranger's doing must not use up the owner's codes."""
        if to is None:
            contact = await uow.users.contact(user.id)
            if contact is None:
                return
            to = (contact.type, contact.value)
        recipient = Recipient.of(user, *to)
        if counted:
            await uow.ledger.record(recipient.address, client_ip)
        await self._send(uow, recipient, kind, client_ip, now, erased=erased)

    async def _send(
        self,
        uow: UnitOfWork,
        to: Recipient,
        kind: DeliveryKind,
        client_ip: str,
        now: datetime,
        *,
        code: str | None = None,
        erased: bool = False,
    ) -> None:
        """Write a delivery request to the outbox; codes count against the caps."""
        if code is not None:
            await uow.ledger.record(to.address, client_ip)
        event = DeliveryRequested(
            id=str(uuid.uuid4()),
            occurred_at=now,
            kind=kind,
            channel=to.channel,
            recipient=to.address,
            locale=to.locale,
            user_id=str(to.user_id),
            code=code,
            expires_in_s=self.policy.ttl_s if code else None,
        )
        await uow.outbox.add(
            UUID(event.id),
            self._stream.requested(to.channel),
            EVENT_ENCODER.encode(event),
            trace_headers(),
            erase_on_publish=erased,
        )

    async def accept(
        self,
        uow: UnitOfWork,
        user_id: UUID,
        purpose: OtpPurpose,
        entered: str,
        now: datetime,
        recipient: str | None = None,
        *,
        uniform: bool = False,
    ) -> None:
        """Returns when `entered` is the newest code (to `recipient`, when given), now used up.
        Otherwise commits the spent attempt and raises the verdict's error (`otp_invalid`,
        `otp_expired`, ...); with `uniform`, always `otp_invalid`, telling nothing."""
        otp = await uow.otps.latest_for_update(user_id, purpose, recipient)
        verdict = Verdict.WRONG if otp is None else judge(otp, entered, self._key, now)
        if otp is not None and verdict is Verdict.ACCEPTED:
            await uow.otps.consume(otp.id, now)
            return
        if otp is not None and verdict is Verdict.WRONG:
            await uow.otps.spend_attempt(otp.id)
        await uow.commit()
        raise TesseraError(Code.OTP_INVALID if uniform else VERDICT_ERRORS[verdict])
