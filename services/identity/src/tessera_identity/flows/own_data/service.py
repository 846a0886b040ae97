"""A person's own data (GDPR Art. 15, 17, 20): a copy of it, and deleting the account."""

from datetime import datetime
from uuid import UUID

import msgspec

from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.admin.erasure import Erasure
from tessera_identity.flows.admin.service import AdminUnitOfWorkFactory
from tessera_identity.flows.mfa.factors import Verifier, profile_for_update
from tessera_identity.flows.password.service import Passwords
from tessera_identity.ports import (
    AccountView,
    AccountViews,
    AdminReads,
    AuditEvent,
    Clock,
    SessionDirectory,
    User,
)
from tessera_shared.contracts.internal import SessionRecord
from tessera_shared.errors import Code, FieldError, TesseraError

AUDIT_EXPORTED = 1000
"""The newest audit events about the person in an export."""


class Export(msgspec.Struct, frozen=True, kw_only=True):
    view: AccountView
    recovery_codes_left: int
    sessions: list[SessionRecord]
    audit: list[AuditEvent]
    exported_at: datetime


class DeleteAccount(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    password: str | None
    """The current password; required when the account has one."""
    otp: str | None
    """A current code of the second factor, when MFA is on."""
    client_ip: str = ""


class OwnData:
    def __init__(
        self,
        uow: AdminUnitOfWorkFactory,
        views: AccountViews,
        reads: AdminReads,
        sessions: SessionDirectory,
        passwords: Passwords,
        verifier: Verifier,
        erasure: Erasure,
        clock: Clock,
    ) -> None:
        self._uow = uow
        self._views = views
        self._reads = reads
        self._sessions = sessions
        self._passwords = passwords
        self._verifier = verifier
        self._erasure = erasure
        self._clock = clock

    async def export(self, user_id: UUID, client_ip: str) -> Export:
        """Everything kept about the person but secrets (password hash, TOTP secret, codes)."""
        view = await self._views.get(user_id)
        if view is None:
            raise TesseraError(Code.FORBIDDEN)
        export = Export(
            view=view,
            recovery_codes_left=await self._reads.recovery_codes_left(user_id),
            sessions=await self._sessions.sessions(user_id),
            audit=await self._reads.audit(user_id, None, None, AUDIT_EXPORTED, None),
            exported_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.audit.record("data_exported", user_id, "", client_ip)
            await uow.commit()
        return export

    async def delete(self, cmd: DeleteAccount) -> None:
        """Erase the account: proven with the current password (when it has one) and, with MFA
        on, a current code of the second factor; a notice goes to its contact."""
        user = await self._proven(cmd)
        now = self._clock.now()
        async with self._uow() as uow:
            profile = await profile_for_update(uow, user.id)
            if profile is None:
                raise TesseraError(Code.FORBIDDEN)
            await self._verifier.step_up(uow, profile, cmd.otp, now)
            await self._erasure.erase(
                uow,
                profile.user,
                action="account_deleted",
                actor="user",
                client_ip=cmd.client_ip,
                now=now,
                notify=True,
            )

    async def _proven(self, cmd: DeleteAccount) -> User:
        """The active user once their password is proven; an account without a password (made
        by an operator, none set yet) is proven by its session alone."""
        view = await self._views.get(cmd.user_id)
        if view is None or view.user.status != AccountStatus.ACTIVE:
            raise TesseraError(Code.FORBIDDEN)
        if view.user.password_hash is None:
            return view.user
        if not cmd.password:
            detail = FieldError(field="password", code="missing_field", message="")
            raise TesseraError(Code.VALIDATION_FAILED, details=[detail])
        return await self._passwords.prove(cmd.user_id, cmd.password, cmd.client_ip)
