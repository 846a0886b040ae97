"""Issuing and checking one-time codes, and asking otp-delivery to send messages."""

import uuid
from datetime import datetime, timedelta
from uuid import UUID

import msgspec

from tessera_identity.domain.code_policy import CodePolicy, cooldown_left
from tessera_identity.domain.otp import (
    VERDICT_ERRORS,
    OtpPurpose,
    Verdict,
    generate_code,
    hash_code,
    judge,
)
from tessera_identity.ports import NewOtp, UnitOfWork
from tessera_shared.contracts.events import EVENT_ENCODER, Channel, DeliveryKind, DeliveryRequested
from tessera_shared.contracts.streams import OtpStream
from tessera_shared.errors import TesseraError
from tessera_shared.telemetry import trace_headers

CODE_KIND: dict[OtpPurpose, DeliveryKind] = {
    OtpPurpose.REGISTRATION: DeliveryKind.REGISTRATION_CODE,
    OtpPurpose.LOGIN: DeliveryKind.LOGIN_CODE,
    OtpPurpose.CREDENTIAL: DeliveryKind.CREDENTIAL_CODE,
    OtpPurpose.PASSWORD_RESET: DeliveryKind.PASSWORD_RESET_CODE,
    OtpPurpose.STEP_UP: DeliveryKind.SECURITY_CODE,
    OtpPurpose.EMAIL_CHANGE: DeliveryKind.CREDENTIAL_CODE,
}


def channel_for(credential_type: str) -> Channel:
    return "email" if credential_type == "email" else "sms"


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    channel: Channel
    address: str
    locale: str


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
            raise TesseraError("too_many_codes", headers={"retry-after": "3600"})

    async def check_cooldown(self, uow: UnitOfWork, address: str, now: datetime) -> None:
        left = cooldown_left(self.policy, await uow.ledger.last_to(address), now)
        if left:
            raise TesseraError("resend_too_soon", headers={"retry-after": str(left)})

    async def issue(
        self,
        uow: UnitOfWork,
        to: Recipient,
        purpose: OtpPurpose,
        client_ip: str,
        now: datetime,
    ) -> None:
        """A new code (older ones of the same purpose stop counting) and its delivery event."""
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
        await self.send(uow, to, CODE_KIND[purpose], client_ip, now, code=code)

    async def send(
        self,
        uow: UnitOfWork,
        to: Recipient,
        kind: DeliveryKind,
        client_ip: str,
        now: datetime,
        *,
        code: str | None = None,
        counted: bool = True,
    ) -> None:
        """Write a delivery request to the outbox; `counted` ones count against the caps."""
        if counted:
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
        )

    async def verdict(
        self,
        uow: UnitOfWork,
        user_id: UUID,
        purpose: OtpPurpose,
        entered: str,
        now: datetime,
        recipient: str | None = None,
    ) -> tuple[Verdict, UUID | None]:
        """Judge `entered` against the newest code (to `recipient`, when given); a wrong guess
        is recorded as spent."""
        otp = await uow.otps.latest_for_update(user_id, purpose, recipient)
        if otp is None:
            return Verdict.WRONG, None
        verdict = judge(otp, entered, self._key, now)
        if verdict is Verdict.WRONG:
            await uow.otps.spend_attempt(otp.id)
        elif verdict is Verdict.ACCEPTED:
            await uow.otps.consume(otp.id, now)
        return verdict, otp.id


def raise_for(verdict: Verdict) -> None:
    """After the unit of work committed the spent attempt: refuse a code that was not accepted."""
    if verdict is not Verdict.ACCEPTED:
        raise TesseraError(VERDICT_ERRORS[verdict])
