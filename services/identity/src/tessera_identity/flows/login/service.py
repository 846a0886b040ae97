"""Password check for the session service, with lockout and same-time answers.

Each attempt takes a slot before its password is checked (per account and client IP, and per
account from anywhere) and is settled after: only wrong passwords count toward a lock, and at
most the limit are checked at a time (`domain/lockout.py`). A locked pair or account is refused
without checking, so a correct password does not unlock. Unknown usernames cost a dummy argon2
check and are counted too, so neither the answer nor its timing tells whether an account exists.
"""

import asyncio
import contextlib
import random
import time
from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity import metrics
from tessera_identity.domain.credentials import CredentialType, parse_username
from tessera_identity.domain.lockout import LockoutPolicy, Scope, subject_of
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.domain.passwords import normalize_password
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import Clock, PasswordHasher, UnitOfWorkFactory, User
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import Code, TesseraError


class VerifyPassword(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    password: str
    client_ip: str
    user_agent: str = ""


class LoginResult(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    status: AccountStatus
    mfa_mode: MfaMode
    locale: str
    credential_version: int = 0
    """Of the password that was checked: a session must not start once it was replaced."""


SLOT_POLL_S = 0.25
"""How often a waiting attempt looks for a free slot freed elsewhere (another worker or
instance); a slot freed in this process wakes its waiters at once."""


def _retrieve(task: asyncio.Future[LoginResult]) -> None:
    # The refusal of a check whose caller left is expected: not an unretrieved-error warning.
    if not task.cancelled():
        task.exception()


class Login:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        hasher: PasswordHasher,
        lockout: LockoutPolicy,
        codes: Codes,
        clock: Clock,
        subject_key: bytes,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._lockout = lockout
        self._codes = codes
        self._clock = clock
        self._subject_key = subject_key
        self._slot_freed: dict[str, asyncio.Event] = {}
        """Per subject: set when an attempt of this process settles (its slot is free)."""

    async def verify_password(self, cmd: VerifyPassword) -> LoginResult:
        kind, username = parse_username(cmd.username)
        subject = subject_of(self._subject_key, kind, username)
        now = self._clock.now()
        owner = await self._reserve(kind, username, subject, cmd.client_ip)
        # Shielded: a caller who goes away mid-check (client gone) does not leave the slot
        # taken, nor a wrong password uncounted; the check and its settling run to the end.
        settled = asyncio.ensure_future(self._check(cmd, owner, subject, now))
        settled.add_done_callback(lambda _: self._wake(subject))
        settled.add_done_callback(_retrieve)
        return await asyncio.shield(settled)

    async def _check(
        self, cmd: VerifyPassword, owner: User | None, subject: str, now: datetime
    ) -> LoginResult:
        """Check the password of a reserved attempt and settle the reservation."""
        password = normalize_password(cmd.password)
        try:
            if owner is None or owner.password_hash is None:
                await self._hasher.dummy_verify(password)
                correct = False
            else:
                correct = await self._hasher.verify(owner.password_hash, password)
            upgraded = None
            if correct and owner and self._hasher.needs_rehash(owner.password_hash or ""):
                upgraded = await self._hasher.hash(password)
        except Exception:
            # No answer on the password (e.g. no hashing thread was free: 503): not a failure.
            async with self._uow() as uow:
                await uow.throttle.unreserve(Scope.ACCOUNT_IP, subject, cmd.client_ip)
                await uow.throttle.unreserve(Scope.ACCOUNT, subject, "")
                await uow.commit()
            raise

        async with self._uow() as uow:
            if not correct or owner is None:
                await uow.throttle.failed(Scope.ACCOUNT_IP, subject, cmd.client_ip, self._lockout)
                await uow.throttle.failed(Scope.ACCOUNT, subject, "", self._lockout)
                await uow.audit.record(
                    "login_failed", owner.id if owner else None, subject, cmd.client_ip
                )
                await uow.commit()
                raise TesseraError(Code.INVALID_CREDENTIALS)
            await uow.throttle.clear(Scope.ACCOUNT_IP, subject, cmd.client_ip)
            await uow.throttle.clear(Scope.ACCOUNT, subject, "")
            await uow.audit.record("login_succeeded", owner.id, subject, cmd.client_ip)
            if owner.status == AccountStatus.ACTIVE:
                await uow.users.record_login(owner.id, now, cmd.user_agent)
            if upgraded:
                await uow.users.set_password_hash(owner.id, upgraded)
            await uow.commit()
        if owner.status == AccountStatus.DISABLED:
            raise TesseraError(Code.ACCOUNT_DISABLED)
        if owner.status != AccountStatus.ACTIVE:
            raise TesseraError(Code.ACCOUNT_NOT_VERIFIED)
        return LoginResult(
            user_id=owner.id,
            status=owner.status,
            mfa_mode=owner.mfa_mode,
            locale=owner.locale,
            credential_version=owner.credential_version,
        )

    async def _reserve(
        self, kind: CredentialType | None, username: str, subject: str, client_ip: str
    ) -> User | None:
        """A slot for this attempt per account and IP and per account (committed before the
        check: parallel attempts see it), and the account, if any. While every slot is held by
        attempts in flight, waits up to `slot_wait_s`, then 429 `login_attempts_in_progress`;
        a lock is 423 `account_locked`."""
        deadline = time.monotonic() + self._lockout.slot_wait_s
        while True:
            async with self._uow() as uow:
                owner = await uow.users.login_candidate(kind, username) if kind else None
                scope = Scope.ACCOUNT_IP
                reservation = await uow.throttle.reserve(scope, subject, client_ip, self._lockout)
                if reservation.allowed:
                    scope = Scope.ACCOUNT
                    reservation = await uow.throttle.reserve(scope, subject, "", self._lockout)
                    if not reservation.allowed:
                        await uow.throttle.unreserve(Scope.ACCOUNT_IP, subject, client_ip)
                if not reservation.allowed and not reservation.busy:
                    owner_id = owner.id if owner else None
                    await uow.audit.record("login_refused_locked", owner_id, subject, client_ip)
                    if reservation.newly_locked and owner is not None:
                        await uow.audit.record("account_locked", owner.id, subject, client_ip)
                        # Not counted against the owner's caps: a stranger's failures must
                        # not use up the owner's login codes. Locks bound how often it goes.
                        await self._codes.notify(
                            uow,
                            owner,
                            DeliveryKind.ACCOUNT_LOCKED_NOTICE,
                            client_ip,
                            self._clock.now(),
                        )
                await uow.commit()
                if reservation.allowed:
                    return owner
                if not reservation.busy:
                    if reservation.newly_locked:
                        metrics.LOCKOUTS.labels(scope.value, "login").inc()
                    retry_after = str(reservation.retry_after_s)
                    raise TesseraError(Code.ACCOUNT_LOCKED, headers={"retry-after": retry_after})
            if time.monotonic() >= deadline:
                raise TesseraError(Code.LOGIN_ATTEMPTS_IN_PROGRESS, headers={"retry-after": "1"})
            await self._slot_freed_or(subject, random.uniform(SLOT_POLL_S / 2, SLOT_POLL_S))  # noqa: S311

    async def _slot_freed_or(self, subject: str, timeout_s: float) -> None:
        """Until an attempt on `subject` settles in this process, or `timeout_s` passed.

        Waking on the settling instead of polling the database keeps parallel sign-ins of one
        account from spending a transaction every few milliseconds each while they wait.
        """
        freed = self._slot_freed.setdefault(subject, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(freed.wait(), timeout_s)

    def _wake(self, subject: str) -> None:
        freed = self._slot_freed.pop(subject, None)
        if freed is not None:
            freed.set()
