"""What the flows need from the outside world; adapters implement these, tests may fake them."""

from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self
from uuid import UUID

import msgspec

from tessera_identity.domain.admin import SearchTerm, UserCursor
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.guesses import Guesses
from tessera_identity.domain.lockout import LockoutPolicy, Reservation, Scope
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.domain.otp import OtpPurpose, StoredOtp
from tessera_identity.domain.registration import AccountStatus
from tessera_shared.contracts.events import Channel
from tessera_shared.contracts.internal import SessionRecord


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    status: AccountStatus
    locale: str
    password_hash: str | None
    mfa_mode: MfaMode
    name: str | None = None
    """Display name the person chose; None when not given."""
    credential_version: int = 0
    """Moves with every new password chosen by the person (reset or change)."""


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    user_id: UUID
    type: CredentialType
    value: str
    verified_at: datetime | None
    sign_in_unverified: bool = False
    """An /auth registration's email: signs in before it is verified."""


class Activity(msgspec.Struct, frozen=True, kw_only=True):
    """When the account was made, last signed in (and from what), and last changed password."""

    created_at: datetime
    last_login_at: datetime | None
    last_login_device: str
    password_changed_at: datetime | None


class NewOtp(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    user_id: UUID
    purpose: OtpPurpose
    channel: Channel
    recipient: str
    code_hash: bytes
    key_id: str
    max_attempts: int
    expires_at: datetime


class StoredTotp(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    key_id: str
    secret_sealed: bytes
    confirmed_at: datetime | None
    last_step: int


class AccountView(msgspec.Struct, frozen=True, kw_only=True):
    """A user as their own account pages show them, read at one instant."""

    user: User
    credentials: list[Credential]
    """In the order they were added."""
    totp: StoredTotp | None
    activity: Activity


class AccountViews(Protocol):
    async def get(self, user_id: UUID) -> AccountView | None:
        """Read without locking, outside any unit of work; None when there is no such user."""
        ...


class CredentialTakenError(Exception):
    """The address was verified by another account in the meantime."""


class Users(Protocol):
    async def lock_address(self, kind: str, value: str) -> None:
        """Serializes claims of `kind:value` (a credential type, or another namespace) until
        the transaction ends."""
        ...

    async def get(self, user_id: UUID) -> User | None: ...
    async def credential(self, user_id: UUID, kind: CredentialType) -> Credential | None: ...
    async def verified_owner(self, kind: CredentialType, value: str) -> User | None: ...
    async def login_candidate(self, kind: CredentialType, value: str) -> User | None: ...
    async def delete_pending_with(self, kind: CredentialType, value: str) -> None: ...
    async def add_pending(self, user: User, credential: Credential) -> None: ...
    async def activate(self, user_id: UUID, credential_id: UUID, at: datetime) -> None: ...
    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None: ...
    async def replace_password(self, user_id: UUID, password_hash: str, at: datetime) -> int:
        """A new password chosen by the person (reset or change): `password_changed_at` and
        the credential version move; answers the new version."""
        ...

    async def set_profile(self, user_id: UUID, name: str | None, locale: str) -> None: ...
    async def record_login(self, user_id: UUID, at: datetime, device: str = "") -> None: ...
    async def unverified_sign_in_owner(self, kind: CredentialType, value: str) -> User | None: ...
    async def add_active_unverified(self, user: User, credential: Credential) -> None: ...
    async def contact(self, user_id: UUID) -> Credential | None: ...
    async def get_for_update(self, user_id: UUID) -> User | None: ...
    async def credentials_of(self, user_id: UUID) -> list[Credential]: ...
    async def add_credential(self, credential: Credential) -> None: ...
    async def delete_unverified(self, user_id: UUID, kind: CredentialType) -> None:
        """Unverified credentials of `kind` that cannot sign in (pending additions, changes)."""
        ...

    async def delete_credential(self, credential_id: UUID) -> None: ...
    async def verify_credential(self, credential_id: UUID, at: datetime) -> None:
        """Raises CredentialTakenError when another account verified the address first."""
        ...

    async def set_mfa_mode(self, user_id: UUID, mode: MfaMode) -> None: ...


class TotpSecrets(Protocol):
    async def get_for_update(self, user_id: UUID) -> StoredTotp | None: ...
    async def put_pending(self, user_id: UUID, key_id: str, sealed: bytes) -> None: ...
    async def confirm(self, user_id: UUID, at: datetime, step: int) -> None: ...
    async def use_step(self, user_id: UUID, step: int) -> None: ...
    async def delete(self, user_id: UUID) -> None: ...


class RecoveryCodes(Protocol):
    async def replace(self, user_id: UUID, digests: list[bytes]) -> None: ...
    async def use(self, user_id: UUID, digest: bytes, at: datetime) -> bool:
        """Marks an unused code used; False when there is none with this digest."""
        ...

    async def exist(self, user_id: UUID) -> bool: ...


class SecondFactorGuesses(Protocol):
    """Wrong TOTP and recovery codes per account (`domain/guesses.py`)."""

    async def lock(self, user_id: UUID, now: datetime) -> Guesses: ...
    async def save(self, user_id: UUID, guesses: Guesses) -> None: ...
    async def clear(self, user_id: UUID) -> None: ...


class Otps(Protocol):
    async def add(self, otp: NewOtp) -> None: ...
    async def latest_for_update(
        self, user_id: UUID, purpose: OtpPurpose, recipient: str | None = None
    ) -> StoredOtp | None: ...
    async def channel_of(self, otp_id: UUID) -> str: ...
    async def spend_attempt(self, otp_id: UUID) -> None: ...
    async def consume(self, otp_id: UUID, at: datetime) -> None: ...


class CodeLedger(Protocol):
    async def record(self, recipient: str, client_ip: str) -> None: ...
    async def last_to(self, recipient: str) -> datetime | None: ...
    async def count_to(self, recipient: str, since: datetime) -> int: ...
    async def count_from(self, client_ip: str, since: datetime) -> int: ...


class Outbox(Protocol):
    async def add(
        self,
        event_id: UUID,
        subject: str,
        payload: bytes,
        headers: dict[str, str],
        *,
        erase_on_publish: bool = False,
    ) -> None:
        """`erase_on_publish`: the row is deleted once published (a notice to an erased
        account), instead of kept as a record."""
        ...


class Throttle(Protocol):
    async def reserve(
        self, scope: Scope, subject: str, ip: str, policy: LockoutPolicy
    ) -> Reservation: ...
    async def failed(self, scope: Scope, subject: str, ip: str, policy: LockoutPolicy) -> None:
        """Settle a reserved attempt as a counted failure."""
        ...

    async def clear(self, scope: Scope, subject: str, ip: str) -> None:
        """Settle a reserved attempt as a success: its slot and the failures are cleared."""
        ...

    async def unreserve(self, scope: Scope, subject: str, ip: str) -> None:
        """Free a reserved attempt's slot without counting it (its password was not checked)."""
        ...

    async def release(self, subject: str) -> None:
        """Forget every counter and lock of `subject` (all scopes, all IPs)."""
        ...


class Audit(Protocol):
    async def record(
        self, event: str, user_id: UUID | None, subject: str, ip: str, actor: str = "user"
    ) -> None:
        """Append to the trail; `actor`: `user`, or `admin:<key id>` for the admin API. The
        request's id is taken from the request context."""
        ...


class UnitOfWork(Protocol):
    """One transaction: rolled back when the block ends, unless `commit()` was called in it.

    A flow that records a spent attempt and then refuses commits first and raises after, in
    the block: the refusal's exception then leaves nothing else behind."""

    @property
    def users(self) -> Users: ...
    @property
    def otps(self) -> Otps: ...
    @property
    def ledger(self) -> CodeLedger: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def throttle(self) -> Throttle: ...
    @property
    def audit(self) -> Audit: ...
    @property
    def totp(self) -> TotpSecrets: ...
    @property
    def recovery(self) -> RecoveryCodes: ...
    @property
    def guesses(self) -> SecondFactorGuesses: ...

    async def commit(self) -> None:
        """Make everything written so far durable; later writes need another commit."""
        ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...
    async def verify(self, password_hash: str, password: str) -> bool: ...
    async def dummy_verify(self, password: str) -> None: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SessionRevoker(Protocol):
    """The session service's revocation; raises TesseraError(Code.SERVICE_UNAVAILABLE) when it
    cannot be sure the sessions ended."""

    async def revoke(
        self,
        user_id: UUID,
        *,
        keep_session: str | None = None,
        credential_version: int | None = None,
        purge: bool = False,
    ) -> int:
        """End every session of the user except `keep_session`; how many ended. With
        `credential_version`, sign-ins checked against an older password start none either;
        `purge` (an erased account): nothing about the user is kept after."""
        ...


class SessionDirectory(SessionRevoker, Protocol):
    """The session service as the admin API needs it: revocation and the list of sessions."""

    async def sessions(self, user_id: UUID) -> list[SessionRecord]: ...


class UserSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A user as an admin search lists them."""

    id: UUID
    status: AccountStatus
    email: str | None
    phone: str | None
    name: str | None
    created_at: datetime
    last_login_at: datetime | None


class LockoutState(msgspec.Struct, frozen=True, kw_only=True):
    locked_until: datetime | None
    """The latest lock of the account's sign-in counters, past ones included."""
    failures: int
    """Counted failed passwords in the current window, from anywhere."""


class AuditEvent(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    at: datetime
    action: str
    actor: str
    user_id: UUID | None
    ip: str
    request_id: str


class AccountRecords(Protocol):
    """An account as a whole, in the unit of work: what operators and erasure change."""

    async def set_status(self, user_id: UUID, status: AccountStatus) -> None: ...
    async def new_credential_version(self, user_id: UUID) -> int:
        """Moves the version: sign-ins checked before cannot become sessions (see revoke)."""
        ...

    async def addresses(self, user_id: UUID) -> list[str]:
        """Every address the account has or had a code sent to."""
        ...

    async def erase(self, user_id: UUID, addresses: list[str], subjects: list[str]) -> None:
        """Delete the account and every row naming it or its addresses (codes, the outbox, the
        code ledger, sign-in counters under `subjects`); the audit trail keeps its events
        with the user id as a tombstone, their IPs and subjects blanked."""
        ...

    async def replace_address(
        self, user_id: UUID, kind: CredentialType, value: str, verified_at: datetime | None
    ) -> None:
        """The account's one address of `kind` is `value` now; unverified, it still signs in
        (as an /auth registration's email does). Raises CredentialTakenError."""
        ...


class AdminUnitOfWork(UnitOfWork, Protocol):
    @property
    def accounts(self) -> AccountRecords: ...


class AdminReads(Protocol):
    """The admin API's reads, outside any transaction."""

    async def search(
        self,
        term: SearchTerm,
        status: AccountStatus | None,
        limit: int,
        after: UserCursor | None,
    ) -> list[UserSummary]:
        """Newest accounts first."""
        ...

    async def lockout(self, subjects: list[str]) -> LockoutState: ...
    async def recovery_codes_left(self, user_id: UUID) -> int: ...
    async def audit(
        self,
        user_id: UUID | None,
        action: str | None,
        since: datetime | None,
        limit: int,
        before: int | None,
    ) -> list[AuditEvent]:
        """Newest first."""
        ...
