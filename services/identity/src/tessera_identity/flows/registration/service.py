"""Self-registration: initiate (pending account + code), verify (activate), resend a code.

No account enumeration: an address that already belongs to an account gets the same answer as a
new one (same status, shape and argon2 cost), and its owner a notice instead of a code.
"""

import uuid
from uuid import UUID

import msgspec

from tessera_identity import metrics
from tessera_identity.domain.credentials import CredentialType, normalize
from tessera_identity.domain.mfa import MfaMode, channel_for
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.domain.passwords import PasswordPolicy, check_password, normalize_password
from tessera_identity.domain.registration import AccountStatus, can_become
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import (
    Clock,
    Credential,
    CredentialTakenError,
    PasswordHasher,
    UnitOfWorkFactory,
    User,
)
from tessera_shared.contracts.events import Channel, DeliveryKind
from tessera_shared.errors import Code, FieldError, TesseraError


class InitiateRegistration(msgspec.Struct, frozen=True, kw_only=True):
    credential_type: CredentialType
    credential_value: str
    password: str
    terms_accepted: bool
    privacy_policy_accepted: bool
    locale: str
    client_ip: str


class VerifyRegistration(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    credential_type: CredentialType
    otp: str


class ResendCode(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    credential_type: CredentialType
    client_ip: str


class RegistrationStarted(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    channel: Channel


class Registration:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        passwords: PasswordPolicy,
        codes: Codes,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._passwords = passwords
        self._codes = codes
        self._clock = clock

    async def initiate(self, cmd: InitiateRegistration) -> RegistrationStarted:
        """A pending account and a registration code; verify-registration activates it."""
        return await self._register(cmd, AccountStatus.PENDING)

    async def register_active(self, cmd: InitiateRegistration) -> RegistrationStarted:
        """The /auth surface's registration (guide 003): the account is active at once and
        signs in with its address before verifying it; a code to verify it is sent anyway."""
        return await self._register(cmd, AccountStatus.ACTIVE)

    async def _register(
        self, cmd: InitiateRegistration, status: AccountStatus
    ) -> RegistrationStarted:
        _require_consent(cmd)
        check_password(cmd.password, self._passwords)
        address = normalize(cmd.credential_type, cmd.credential_value)
        channel = channel_for(cmd.credential_type)
        # Hash before looking anything up: both answers below cost the same argon2 time.
        password_hash = await self._hasher.hash(normalize_password(cmd.password))
        now = self._clock.now()
        async with self._uow() as uow:
            await uow.users.lock_address(cmd.credential_type, address)
            await self._codes.check_caps(uow, address, cmd.client_ip, now)
            owner = await uow.users.verified_owner(cmd.credential_type, address)
            if owner is None and status is AccountStatus.ACTIVE:
                # One account at most signs in with an address nobody verified yet.
                owner = await uow.users.unverified_sign_in_owner(cmd.credential_type, address)
            if owner is not None:
                await self._codes.notify(
                    uow,
                    owner,
                    DeliveryKind.REGISTRATION_NOTICE,
                    cmd.client_ip,
                    now,
                    to=(cmd.credential_type, address),
                    counted=True,
                )
                # An id that exists nowhere: verify treats it like a wrong code, resend like a
                # registration whose code was just sent (its cool-down starts now). Not counted
                # per IP: the notice already was, as a new registration's code is.
                decoy = uuid.uuid4()
                await uow.ledger.record(_decoy_recipient(decoy), "")
                await uow.commit()
                return RegistrationStarted(user_id=decoy, channel=channel)
            await uow.users.delete_pending_with(cmd.credential_type, address)
            user_id = uuid.uuid4()
            user = User(
                id=user_id,
                status=status,
                locale=cmd.locale,
                password_hash=password_hash,
                mfa_mode=MfaMode.NONE,
            )
            credential = Credential(
                id=uuid.uuid4(),
                user_id=user_id,
                type=cmd.credential_type,
                value=address,
                verified_at=None,
            )
            if status is AccountStatus.PENDING:
                await uow.users.add_pending(user, credential)
                purpose = OtpPurpose.REGISTRATION
            else:
                await uow.users.add_active_unverified(user, credential)
                purpose = OtpPurpose.CREDENTIAL
            await self._codes.send_code(
                uow, user, cmd.credential_type, address, purpose, cmd.client_ip, now
            )
            await uow.commit()
        metrics.REGISTRATIONS.labels("v1" if status is AccountStatus.PENDING else "auth").inc()
        return RegistrationStarted(user_id=user_id, channel=channel)

    async def verify(self, cmd: VerifyRegistration) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id)
            credential = await uow.users.credential(cmd.user_id, cmd.credential_type)
            if user is None or credential is None:
                raise TesseraError(Code.OTP_INVALID)
            await self._codes.accept(uow, user.id, OtpPurpose.REGISTRATION, cmd.otp, now)
            if not can_become(user.status, AccountStatus.ACTIVE):
                raise TesseraError(Code.OTP_USED)
            try:
                await uow.users.activate(user.id, credential.id, now)
            except CredentialTakenError:
                raise TesseraError(Code.CREDENTIAL_UNAVAILABLE) from None
            await uow.commit()

    async def resend(self, cmd: ResendCode) -> RegistrationStarted:
        channel = channel_for(cmd.credential_type)
        answer = RegistrationStarted(user_id=cmd.user_id, channel=channel)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.get(cmd.user_id)
            credential = await uow.users.credential(cmd.user_id, cmd.credential_type)
            if user is None or credential is None or user.status != AccountStatus.PENDING:
                # Same answers as a real resend, cool-down and caps included: ids reveal
                # nothing. Nothing is sent; the request is recorded under the id instead.
                decoy = _decoy_recipient(cmd.user_id)
                await uow.users.lock_address("registration", decoy)
                await self._codes.check_cooldown(uow, decoy, now)
                await self._codes.check_caps(uow, decoy, cmd.client_ip, now)
                await uow.ledger.record(decoy, cmd.client_ip)
                await uow.commit()
                return answer
            await uow.users.lock_address(credential.type, credential.value)
            await self._codes.send_code(
                uow,
                user,
                credential.type,
                credential.value,
                OtpPurpose.REGISTRATION,
                cmd.client_ip,
                now,
                cooldown=True,
            )
            await uow.commit()
        return answer


def _decoy_recipient(user_id: UUID) -> str:
    """The code ledger's recipient for a registration id with no pending account behind it."""
    return f"registration:{user_id}"


def _require_consent(cmd: InitiateRegistration) -> None:
    for accepted, field, code in (
        (cmd.terms_accepted, "terms_accepted", Code.TERMS_NOT_ACCEPTED),
        (cmd.privacy_policy_accepted, "privacy_policy_accepted", Code.PRIVACY_POLICY_NOT_ACCEPTED),
    ):
        if not accepted:
            raise TesseraError(
                code, details=[FieldError(field=field, code="must_be_true", message="")]
            )
