"""Erasing an account (GDPR Art. 17): by an operator, or by the person themself.

One transaction: the credential version moves and the sessions end with the floor raised
(a sign-in checked before cannot become a session), every row naming the account or its
addresses goes, and the audit trail gets a tombstone. A refusal of the session service rolls
it all back. After the commit the session service forgets the user entirely (`purge`).
"""

import logging
from datetime import datetime
from uuid import UUID

from tessera_identity.domain.lockout import subject_of
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import AdminUnitOfWork, Credential, SessionRevoker, User
from tessera_shared.contracts.events import DeliveryKind
from tessera_shared.errors import Code, TesseraError

log = logging.getLogger("tessera.identity.erasure")


def subjects_of(key: bytes, user_id: UUID, credentials: list[Credential]) -> list[str]:
    """The keyed subjects the account's sign-in and password-change counters are under."""
    return [
        *(subject_of(key, c.type, c.value) for c in credentials),
        subject_of(key, "user", str(user_id)),
    ]


class Erasure:
    def __init__(self, sessions: SessionRevoker, codes: Codes, subject_key: bytes) -> None:
        self._sessions = sessions
        self._codes = codes
        self._key = subject_key

    async def erase(
        self,
        uow: AdminUnitOfWork,
        user: User,
        *,
        action: str,
        actor: str,
        client_ip: str,
        now: datetime,
        notify: bool,
    ) -> None:
        """Erase `user` (row-locked by the caller) and commit; `notify`: the deletion notice
        goes to their contact, and the outbox drops it once it is published."""
        credentials = await uow.users.credentials_of(user.id)
        contact = await uow.users.contact(user.id)
        addresses = await uow.accounts.addresses(user.id)
        version = await uow.accounts.new_credential_version(user.id)
        await self._sessions.revoke(user.id, credential_version=version)
        await uow.accounts.erase(user.id, addresses, subjects_of(self._key, user.id, credentials))
        # The tombstone: the random id, what and who, no address or IP.
        await uow.audit.record(action, user.id, "", "", actor=actor)
        if notify and contact is not None:
            to = (contact.type, contact.value)
            kind = DeliveryKind.ACCOUNT_DELETED_NOTICE
            await self._codes.notify(uow, user, kind, client_ip, now, to=to, erased=True)
        await uow.commit()
        try:
            await self._sessions.revoke(user.id, purge=True)
        except TesseraError:  # the floor is left to expire (minutes); the account is gone
            log.warning("the session service did not purge an erased user; its floor expires")


async def locked_user(uow: AdminUnitOfWork, user_id: UUID) -> User:
    """The user, row-locked; 404 `user_not_found`."""
    user = await uow.users.get_for_update(user_id)
    if user is None:
        raise TesseraError(Code.USER_NOT_FOUND)
    return user
