"""A forgotten password reset with a code to the address, and a signed-in change.

Reset: requested (a code to the address the person typed) → completed (that code entered with a
new password); the code's lifetime and attempt limit bound the requested state (`OtpState`).
Neither step tells whether an account exists: the request always answers alike and sends only
to a real account (within the hourly caps, silently), and every refusal of the code is
`otp_invalid`, since distinct ones (used up, expired) would only ever come from a real account.

Both end the user's sessions through the session service (a change keeps the caller's own)
*before* the new password is committed, as the last step of the same unit of work: when the
session service cannot confirm, the answer is 503 and nothing changed (a reset's code still
works). The other order could leave a stolen session alive with the password already replaced.
"""

import contextlib
from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity import metrics
from tessera_identity.domain.account import may_reset_password
from tessera_identity.domain.credentials import CredentialType, parse_username
from tessera_identity.domain.lockout import LockoutPolicy, Reservation, Scope, subject_of
from tessera_identity.domain.otp import OtpPurpose
from tessera_identity.domain.passwords import PasswordPolicy, check_password, normalize_password
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import (
    Clock,
    Credential,
    CredentialTakenError,
    PasswordHasher,
    SessionRevoker,
    UnitOfWork,
    UnitOfWorkFactory,
    User,
)
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import Code, TesseraError


class RequestPasswordReset(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    """Email address or phone number, as typed (read like a sign-in username)."""
    client_ip: str


class ResetPassword(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    otp: str
    new_password: str
    client_ip: str


class ChangePassword(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    current_password: str
    new_password: str
    client_ip: str
    keep_session: str | None = None
    """The caller's own session (`sid` of its access token): every other one ends."""


class _Target(msgspec.Struct, frozen=True, kw_only=True):
    """The account a reset is for and the credential its code goes to."""

    user: User
    credential: Credential
    usernames: list[Credential]
    """Every credential the account signs in with, whose lockout a reset clears."""


class Passwords:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        lockout: LockoutPolicy,
        codes: Codes,
        sessions: SessionRevoker,
        clock: Clock,
        subject_key: bytes,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._policy = policy
        self._lockout = lockout
        self._codes = codes
        self._sessions = sessions
        self._clock = clock
        self._subject_key = subject_key

    async def request_reset(self, cmd: RequestPasswordReset) -> None:
        """A reset code to the address, when it signs in to an active account; else nothing.

        Never raises for a well-formed request, whatever the address: the answer must not
        tell whether an account exists, nor whether its caps are reached.
        """
        kind, address = parse_username(cmd.username)
        now = self._clock.now()
        async with self._uow() as uow:
            target = await _target(uow, kind, address)
            if target is None:
                return  # only look-ups: nothing is sent or recorded for a stranger's typing
            kind = target.credential.type
            await uow.users.lock_address(kind, address)
            try:
                await self._codes.send_code(
                    uow, target.user, kind, address, OtpPurpose.PASSWORD_RESET, cmd.client_ip, now
                )
            except TesseraError as refusal:
                if refusal.code != Code.TOO_MANY_CODES:
                    raise
                return  # silently: the answer must not tell that the caps are reached
            await uow.commit()

    async def reset(self, cmd: ResetPassword) -> None:
        """Replace the password with the code sent to `username`; every session ends.

        422 for a new password against the policy (before anything is looked up), 400
        `otp_invalid` for any refusal of the code, 503 when the sessions could not be ended.
        """
        check_password(cmd.new_password, self._policy)
        kind, address = parse_username(cmd.username)
        # Hashed before anything is looked up: an unknown username costs the same argon2 time.
        password_hash = await self._hasher.hash(normalize_password(cmd.new_password))
        now = self._clock.now()
        async with self._uow() as uow:
            target = await _target(uow, kind, address)
            if target is None:
                raise TesseraError(Code.OTP_INVALID)
            await uow.users.get_for_update(target.user.id)  # one change of a user at a time
            await self._codes.accept(
                uow,
                target.user.id,
                OtpPurpose.PASSWORD_RESET,
                cmd.otp,
                now,
                recipient=address,
                uniform=True,
            )
            await self._complete_reset(uow, target, password_hash, cmd.client_ip, now)
            await uow.commit()
        metrics.PASSWORD_RESETS.inc()

    async def _complete_reset(
        self, uow: UnitOfWork, target: _Target, password_hash: str, client_ip: str, now: datetime
    ) -> None:
        user, credential = target.user, target.credential
        version = await uow.users.replace_password(user.id, password_hash, now)
        if credential.verified_at is None:
            # The code reached this address: it is the person's. Unless another account
            # verified it in the meantime; the reset itself still stands.
            with contextlib.suppress(CredentialTakenError):
                await uow.users.verify_credential(credential.id, now)
        for username in target.usernames:
            await uow.throttle.release(subject_of(self._subject_key, username.type, username.value))
        await uow.audit.record("password_reset", user.id, credential.type, client_ip)
        await self._notify_changed(uow, user, client_ip, now)
        # Last: its refusal rolls all of the above back. The version stops sign-ins that
        # were checked against the old password from starting a session after this.
        await self._sessions.revoke(user.id, credential_version=version)

    async def change(self, cmd: ChangePassword) -> None:
        """Replace the password of a signed-in user who knows the current one; every other
        session ends.

        422 for a new password against the policy, 401 `invalid_credentials` for a wrong
        current one (counted like sign-in failures: 423 `account_locked` after too many), 503
        when the sessions could not be ended.
        """
        check_password(cmd.new_password, self._policy)
        user, subject = await self._admit(cmd.user_id, cmd.client_ip)
        try:
            correct = user.password_hash is not None and await self._hasher.verify(
                user.password_hash, normalize_password(cmd.current_password)
            )
            new_hash = (
                await self._hasher.hash(normalize_password(cmd.new_password)) if correct else ""
            )
        except Exception:  # no answer (e.g. no hashing thread free): the attempt is not counted
            await self._unreserve(subject, cmd.client_ip)
            raise
        now = self._clock.now()
        async with self._uow() as uow:
            current = await uow.users.get_for_update(user.id)
            # A reset or change since the check makes the checked password stale: refused too.
            if not correct or current is None or current.password_hash != user.password_hash:
                await uow.throttle.failed(Scope.ACCOUNT_IP, subject, cmd.client_ip, self._lockout)
                await uow.throttle.failed(Scope.ACCOUNT, subject, "", self._lockout)
                await uow.audit.record(
                    "password_change_failed", user.id, "wrong_password", cmd.client_ip
                )
                await uow.commit()
                raise TesseraError(Code.INVALID_CREDENTIALS)
            version = await uow.users.replace_password(user.id, new_hash, now)
            await uow.throttle.release(subject)
            await uow.audit.record("password_changed", user.id, "", cmd.client_ip)
            await self._notify_changed(uow, user, cmd.client_ip, now)
            await self._sessions.revoke(
                user.id, keep_session=cmd.keep_session, credential_version=version
            )
            await uow.commit()

    async def prove(self, user_id: UUID, password: str, client_ip: str) -> User:
        """Returns the active user when `password` is their current one (a confirmation, e.g.
        of deleting the account); counted like a password change's current password: 401
        `invalid_credentials`, 423 `account_locked` after too many."""
        user, subject = await self._admit(user_id, client_ip)
        try:
            correct = user.password_hash is not None and await self._hasher.verify(
                user.password_hash, normalize_password(password)
            )
        except Exception:  # no answer (e.g. no hashing thread free): the attempt is not counted
            await self._unreserve(subject, client_ip)
            raise
        async with self._uow() as uow:
            if not correct:
                await uow.throttle.failed(Scope.ACCOUNT_IP, subject, client_ip, self._lockout)
                await uow.throttle.failed(Scope.ACCOUNT, subject, "", self._lockout)
                await uow.commit()
                raise TesseraError(Code.INVALID_CREDENTIALS)
            await uow.throttle.clear(Scope.ACCOUNT_IP, subject, client_ip)
            await uow.throttle.clear(Scope.ACCOUNT, subject, "")
            await uow.commit()
        return user

    async def _admit(self, user_id: UUID, client_ip: str) -> tuple[User, str]:
        """The active user and the subject their current-password checks are counted under,
        with an attempt reserved (committed before the check: parallel guesses see it); the
        refusal when the limit is reached.

        Counted per user, apart from sign-in: a stolen access token cannot lock the owner out
        of signing in, and guesses through these routes have their own limit."""
        subject = subject_of(self._subject_key, "user", str(user_id))
        async with self._uow() as uow:
            user = await uow.users.get(user_id)
            if user is None or user.status != AccountStatus.ACTIVE:
                raise TesseraError(Code.FORBIDDEN)
            scope, reservation = await self._reserve(uow, subject, client_ip)
            if not reservation.allowed and not reservation.busy:
                await uow.audit.record("password_change_failed", user.id, "locked", client_ip)
            await uow.commit()
            if reservation.busy:  # other checks in flight fill the limit: not a lock
                raise TesseraError(Code.LOGIN_ATTEMPTS_IN_PROGRESS, headers={"retry-after": "1"})
            if not reservation.allowed:
                if reservation.newly_locked:
                    metrics.LOCKOUTS.labels(scope.value, "password_change").inc()
                retry_after = str(reservation.retry_after_s)
                raise TesseraError(Code.ACCOUNT_LOCKED, headers={"retry-after": retry_after})
        return user, subject

    async def _unreserve(self, subject: str, client_ip: str) -> None:
        """Free the slots `_admit` reserved for a check that never ran."""
        async with self._uow() as uow:
            await uow.throttle.unreserve(Scope.ACCOUNT_IP, subject, client_ip)
            await uow.throttle.unreserve(Scope.ACCOUNT, subject, "")
            await uow.commit()

    async def _reserve(
        self, uow: UnitOfWork, subject: str, client_ip: str
    ) -> tuple[Scope, Reservation]:
        """The attempt counted per client IP, then from anywhere; the scope that decided."""
        reservation = await uow.throttle.reserve(
            Scope.ACCOUNT_IP, subject, client_ip, self._lockout
        )
        if not reservation.allowed:
            return Scope.ACCOUNT_IP, reservation
        reservation = await uow.throttle.reserve(Scope.ACCOUNT, subject, "", self._lockout)
        if not reservation.allowed:
            await uow.throttle.unreserve(Scope.ACCOUNT_IP, subject, client_ip)
        return Scope.ACCOUNT, reservation

    async def _notify_changed(
        self, uow: UnitOfWork, user: User, client_ip: str, now: datetime
    ) -> None:
        """The password-changed notice, to the contact or else the address signing in
        unverified (an /auth account); not counted: it goes out even when the caps are reached."""
        contact = await uow.users.contact(user.id) or next(
            (c for c in await uow.users.credentials_of(user.id) if c.sign_in_unverified), None
        )
        if contact is not None:
            to = (contact.type, contact.value)
            await self._codes.notify(
                uow, user, DeliveryKind.PASSWORD_CHANGED_NOTICE, client_ip, now, to=to
            )


async def _target(uow: UnitOfWork, kind: CredentialType | None, address: str) -> _Target | None:
    """The active account `address` signs in to, if a reset may go there."""
    if not kind:
        return None
    owner = await uow.users.verified_owner(kind, address)
    if owner is None and kind == CredentialType.EMAIL:
        owner = await uow.users.unverified_sign_in_owner(kind, address)
    if owner is None:
        return None
    credentials = await uow.users.credentials_of(owner.id)
    usernames = [c for c in credentials if c.verified_at is not None or c.sign_in_unverified]
    credential = next((c for c in usernames if c.type == kind and c.value == address), None)
    if credential is None or not may_reset_password(
        owner.status,
        verified=credential.verified_at is not None,
        signs_in_unverified=credential.sign_in_unverified,
    ):
        return None
    return _Target(user=owner, credential=credential, usernames=usernames)
