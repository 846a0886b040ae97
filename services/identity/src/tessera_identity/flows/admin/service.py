"""What operators do to accounts through the admin API; every change is audited as its key."""

import uuid
from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from tessera_identity.domain.account import check_locale, clean_name
from tessera_identity.domain.admin import (
    AuditCursor,
    C,
    InvalidCursorError,
    SearchTerm,
    UserCursor,
    decode_cursor,
    encode_cursor,
)
from tessera_identity.domain.credentials import CredentialType, normalize
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.domain.passwords import PasswordPolicy, check_password, normalize_password
from tessera_identity.domain.registration import AccountStatus, can_become
from tessera_identity.flows.admin.erasure import Erasure, locked_user, subjects_of
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import (
    AccountView,
    AccountViews,
    AdminReads,
    AdminUnitOfWork,
    AuditEvent,
    Clock,
    Credential,
    CredentialTakenError,
    LockoutState,
    PasswordHasher,
    SessionDirectory,
    User,
    UserSummary,
)
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.contracts.internal import SessionRecord
from tessera_shared.errors import Code, FieldError, TesseraError

AdminUnitOfWorkFactory = Callable[[], AdminUnitOfWork]


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """Who acts (`admin:<key id>`) and from where, for the audit trail."""

    name: str
    client_ip: str = ""


class UserPage(msgspec.Struct, frozen=True, kw_only=True):
    users: list[UserSummary]
    next_cursor: str | None


class AuditPage(msgspec.Struct, frozen=True, kw_only=True):
    events: list[AuditEvent]
    next_cursor: str | None


class UserDetail(msgspec.Struct, frozen=True, kw_only=True):
    view: AccountView
    lockout: LockoutState
    locked: bool
    """Whether sign-in is locked now."""
    recovery_codes_left: int
    sessions: list[SessionRecord]


class NewUser(msgspec.Struct, frozen=True, kw_only=True):
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    """None: the person sets one with a password reset."""
    name: str | None = None
    locale: str = "en"
    verified: bool = True
    """False: the addresses wait for verification; an unverified email still signs in."""


class UserChanges(msgspec.Struct, frozen=True, kw_only=True):
    """Fields left UNSET stay as they are."""

    name: str | UnsetType | None = UNSET
    locale: str | UnsetType = UNSET
    email: str | UnsetType = UNSET
    phone: str | UnsetType = UNSET
    verified: bool = True
    """Whether a new email/phone counts as verified."""


class Admin:
    def __init__(
        self,
        uow: AdminUnitOfWorkFactory,
        reads: AdminReads,
        views: AccountViews,
        sessions: SessionDirectory,
        codes: Codes,
        hasher: PasswordHasher,
        policy: PasswordPolicy,
        clock: Clock,
        subject_key: bytes,
    ) -> None:
        self._uow = uow
        self._reads = reads
        self._views = views
        self._sessions = sessions
        self._codes = codes
        self._hasher = hasher
        self._policy = policy
        self._clock = clock
        self._key = subject_key
        self._erasure = Erasure(sessions, codes, subject_key)

    async def find(
        self, term: SearchTerm, status: AccountStatus | None, limit: int, cursor: str | None
    ) -> UserPage:
        after = _cursor(cursor, UserCursor) if cursor else None
        found = await self._reads.search(term, status, limit + 1, after)
        page, more = found[:limit], len(found) > limit
        last = page[-1] if page and more else None
        next_cursor = encode_cursor(UserCursor(last.created_at, last.id)) if last else None
        return UserPage(users=page, next_cursor=next_cursor)

    async def show(self, user_id: UUID) -> UserDetail:
        view = await self._views.get(user_id)
        if view is None:
            raise TesseraError(Code.USER_NOT_FOUND)
        subjects = subjects_of(self._key, user_id, view.credentials)
        lockout = await self._reads.lockout(subjects)
        locked_until = lockout.locked_until
        return UserDetail(
            view=view,
            lockout=lockout,
            locked=locked_until is not None and locked_until > self._clock.now(),
            recovery_codes_left=await self._reads.recovery_codes_left(user_id),
            sessions=await self._sessions.sessions(user_id),
        )

    async def create(self, new: NewUser, actor: Actor) -> UUID:
        """An active account; 409 `credential_unavailable` when an address is taken."""
        addresses = [
            (kind, normalize(kind, raw))
            for kind, raw in ((CredentialType.EMAIL, new.email), (CredentialType.PHONE, new.phone))
            if raw is not None
        ]
        if not addresses:
            detail = FieldError(field="email", code="missing_field", message="")
            raise TesseraError(Code.VALIDATION_FAILED, details=[detail])
        name, locale = clean_name(new.name), check_locale(new.locale)
        password_hash = None
        if new.password is not None:
            check_password(new.password, self._policy)
            password_hash = await self._hasher.hash(normalize_password(new.password))
        user = User(
            id=uuid.uuid4(),
            status=AccountStatus.ACTIVE,
            locale=locale,
            password_hash=password_hash,
            mfa_mode=MfaMode.NONE,
            name=name,
        )
        now = self._clock.now()
        async with self._uow() as uow:
            for kind, value in addresses:
                await uow.users.lock_address(kind, value)
            first_kind, first_value = addresses[0]
            first = Credential(
                id=uuid.uuid4(),
                user_id=user.id,
                type=first_kind,
                value=first_value,
                verified_at=None,
            )
            await uow.users.add_active_unverified(user, first)
            await uow.users.set_profile(user.id, name, locale)
            for kind, value in addresses:
                await self._claim(uow, user.id, kind, value, now if new.verified else None)
            await uow.audit.record("user_created", user.id, "", actor.client_ip, actor=actor.name)
            await uow.commit()
        return user.id

    async def update(self, user_id: UUID, changes: UserChanges, actor: Actor) -> None:
        now = self._clock.now()
        async with self._uow() as uow:
            user = await locked_user(uow, user_id)
            name = user.name if isinstance(changes.name, UnsetType) else clean_name(changes.name)
            locale = (
                user.locale
                if isinstance(changes.locale, UnsetType)
                else check_locale(changes.locale)
            )
            await uow.users.set_profile(user_id, name, locale)
            for kind, raw in (
                (CredentialType.EMAIL, changes.email),
                (CredentialType.PHONE, changes.phone),
            ):
                if not isinstance(raw, UnsetType):
                    value = normalize(kind, raw)
                    await uow.users.lock_address(kind, value)
                    await self._claim(uow, user_id, kind, value, now if changes.verified else None)
            await uow.audit.record("user_updated", user_id, "", actor.client_ip, actor=actor.name)
            await uow.commit()

    async def _claim(
        self,
        uow: AdminUnitOfWork,
        user_id: UUID,
        kind: CredentialType,
        value: str,
        verified_at: datetime | None,
    ) -> None:
        """`value` becomes the account's address of `kind`, unless another account has it."""
        owner = await uow.users.verified_owner(kind, value)
        other = owner or await uow.users.unverified_sign_in_owner(kind, value)
        if other is not None and other.id != user_id:
            raise TesseraError(Code.CREDENTIAL_UNAVAILABLE)
        try:
            await uow.accounts.replace_address(user_id, kind, value, verified_at)
        except CredentialTakenError:
            raise TesseraError(Code.CREDENTIAL_UNAVAILABLE) from None

    async def set_status(self, user_id: UUID, status: AccountStatus, actor: Actor) -> None:
        """Disabling ends every session at once (the floor stops sign-ins in flight too);
        a 503 of the session service changes nothing. The same status again changes nothing."""
        async with self._uow() as uow:
            user = await locked_user(uow, user_id)
            if user.status == status:
                return
            if not can_become(user.status, status):
                raise TesseraError(Code.FORBIDDEN)
            await uow.accounts.set_status(user_id, status)
            event = "account_disabled" if status is AccountStatus.DISABLED else "account_enabled"
            await uow.audit.record(event, user_id, "", actor.client_ip, actor=actor.name)
            if status is AccountStatus.DISABLED:
                version = await uow.accounts.new_credential_version(user_id)
                await self._sessions.revoke(user_id, credential_version=version)
            await uow.commit()

    async def unlock(self, user_id: UUID, actor: Actor) -> None:
        """Clears sign-in lockouts from every IP and the count of wrong second-factor codes."""
        async with self._uow() as uow:
            await locked_user(uow, user_id)
            credentials = await uow.users.credentials_of(user_id)
            for subject in subjects_of(self._key, user_id, credentials):
                await uow.throttle.release(subject)
            await uow.guesses.clear(user_id)
            await uow.audit.record(
                "account_unlocked", user_id, "", actor.client_ip, actor=actor.name
            )
            await uow.commit()

    async def end_sessions(self, user_id: UUID, actor: Actor) -> int:
        async with self._uow() as uow:
            await locked_user(uow, user_id)
            ended = await self._sessions.revoke(user_id)
            await uow.audit.record(
                "sessions_revoked", user_id, "", actor.client_ip, actor=actor.name
            )
            await uow.commit()
        return ended

    async def reset_mfa(self, user_id: UUID, actor: Actor) -> None:
        """Second factors off: the app and recovery codes removed, the person notified."""
        async with self._uow() as uow:
            user = await locked_user(uow, user_id)
            await uow.totp.delete(user_id)
            await uow.recovery.replace(user_id, [])
            await uow.guesses.clear(user_id)
            await uow.users.set_mfa_mode(user_id, MfaMode.NONE)
            await uow.audit.record("mfa_reset", user_id, "", actor.client_ip, actor=actor.name)
            kind = DeliveryKind.MFA_RESET_NOTICE
            await self._codes.notify(uow, user, kind, actor.client_ip, self._clock.now())
            await uow.commit()

    async def delete(self, user_id: UUID, actor: Actor) -> None:
        async with self._uow() as uow:
            user = await locked_user(uow, user_id)
            await self._erasure.erase(
                uow,
                user,
                action="user_deleted",
                actor=actor.name,
                client_ip=actor.client_ip,
                now=self._clock.now(),
                notify=False,
            )

    async def audit(
        self,
        user_id: UUID | None,
        action: str | None,
        since: datetime | None,
        limit: int,
        cursor: str | None,
    ) -> AuditPage:
        before = _cursor(cursor, AuditCursor).id if cursor else None
        found = await self._reads.audit(user_id, action, since, limit + 1, before)
        page, more = found[:limit], len(found) > limit
        next_cursor = encode_cursor(AuditCursor(page[-1].id)) if page and more else None
        return AuditPage(events=page, next_cursor=next_cursor)


def _cursor(text: str, kind: type[C]) -> C:
    """A cursor this API handed out; else 422 naming the `cursor` parameter."""
    try:
        return decode_cursor(text, kind)
    except InvalidCursorError:
        detail = FieldError(field="cursor", code="invalid_value", message="")
        raise TesseraError(Code.VALIDATION_FAILED, details=[detail]) from None
