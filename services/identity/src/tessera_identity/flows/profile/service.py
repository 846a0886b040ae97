"""The signed-in user's own settings: display name and language (of answers and messages)."""

from uuid import UUID

import msgspec
from msgspec import UNSET, UnsetType

from tessera_identity.domain.account import check_locale, clean_name
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.ports import UnitOfWork, UnitOfWorkFactory, User
from tessera_shared.errors import Code, TesseraError


class UpdateProfile(msgspec.Struct, frozen=True, kw_only=True):
    """Fields left UNSET stay as they are."""

    user_id: UUID
    name: str | UnsetType | None = UNSET
    """1 to 100 characters once trimmed; None clears it."""
    locale: str | UnsetType = UNSET
    """en, de, fr or it: the language of every later email and SMS."""
    client_ip: str = ""


class UserProfile(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None
    locale: str


class Profiles:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, user_id: UUID) -> UserProfile:
        async with self._uow() as uow:
            user = await _active(uow, user_id, lock=False)
        return UserProfile(name=user.name, locale=user.locale)

    async def update(self, cmd: UpdateProfile) -> UserProfile:
        """The profile after the change; 422 `validation_failed` for a bad name or locale."""
        name = UNSET if isinstance(cmd.name, UnsetType) else clean_name(cmd.name)
        locale = UNSET if isinstance(cmd.locale, UnsetType) else check_locale(cmd.locale)
        async with self._uow() as uow:
            user = await _active(uow, cmd.user_id, lock=True)
            after = UserProfile(
                name=user.name if isinstance(name, UnsetType) else name,
                locale=user.locale if isinstance(locale, UnsetType) else locale,
            )
            changed = [
                field
                for field, old, new in (
                    ("name", user.name, after.name),
                    ("locale", user.locale, after.locale),
                )
                if old != new
            ]
            if changed:
                await uow.users.set_profile(user.id, after.name, after.locale)
                await uow.audit.record("profile_updated", user.id, ",".join(changed), cmd.client_ip)
                await uow.commit()
        return after


async def _active(uow: UnitOfWork, user_id: UUID, *, lock: bool) -> User:
    user = await (uow.users.get_for_update(user_id) if lock else uow.users.get(user_id))
    if user is None or user.status != AccountStatus.ACTIVE:
        raise TesseraError(Code.FORBIDDEN)  # a valid token of an account gone or disabled
    return user
