"""In-memory fakes of identity's ports (`tessera_identity.ports`), for unit tests of the flows.

One `World` holds the committed state; a `FakeUnitOfWork` works on a copy of it and hands the
copy back only on `commit()`, so a flow that forgets to commit loses its writes here as it does
against PostgreSQL. Time windows the SQL adapters keep (lock expiry, slot TTLs) are left out:
a unit test runs in milliseconds, inside any window.
"""

import copy
import dataclasses
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Self
from uuid import UUID

import msgspec

from tessera_identity.domain import lockout
from tessera_identity.domain.code_policy import CodePolicy
from tessera_identity.domain.credentials import CredentialType
from tessera_identity.domain.guesses import Guesses
from tessera_identity.domain.lockout import LockoutPolicy, Reservation, Scope
from tessera_identity.domain.mfa import MfaMode
from tessera_identity.domain.otp import OtpPurpose, StoredOtp
from tessera_identity.domain.registration import AccountStatus
from tessera_identity.flows.codes.service import Codes
from tessera_identity.ports import (
    AccountView,
    Activity,
    Credential,
    CredentialTakenError,
    NewOtp,
    StoredTotp,
    User,
)
from tessera_shared.contracts.events import EVENT_DECODER, DeliveryRequested
from tessera_shared.contracts.streams import OtpStream

CODE_KEY = b"k" * 32
PASSWORD = "correct horse battery"


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.at = now or datetime(2026, 1, 1, 12, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


class FakeHasher:
    """`hash:` + the password: no argon2, same answers."""

    async def hash(self, password: str) -> str:
        return f"hash:{password}"

    async def verify(self, password_hash: str, password: str) -> bool:
        return password_hash == f"hash:{password}"

    async def dummy_verify(self, password: str) -> None:
        return None

    def needs_rehash(self, password_hash: str) -> bool:
        return False


@dataclasses.dataclass
class _Otp:
    row: NewOtp
    attempts: int = 0
    consumed_at: datetime | None = None


@dataclasses.dataclass
class _Counter:
    failures: int = 0
    in_flight: int = 0
    locked: bool = False
    lock_count: int = 0


@dataclasses.dataclass
class World:
    """Everything the ports store, as committed."""

    users: dict[UUID, User] = dataclasses.field(default_factory=dict)
    credentials: list[Credential] = dataclasses.field(default_factory=list)
    otps: list[_Otp] = dataclasses.field(default_factory=list)
    ledger: list[tuple[str, str, datetime]] = dataclasses.field(default_factory=list)
    outbox: list[tuple[str, bytes]] = dataclasses.field(default_factory=list)
    throttle: dict[tuple[Scope, str, str], _Counter] = dataclasses.field(default_factory=dict)
    audit: list[tuple[str, UUID | None, str]] = dataclasses.field(default_factory=list)
    totp: dict[UUID, StoredTotp] = dataclasses.field(default_factory=dict)
    recovery: dict[UUID, dict[bytes, datetime | None]] = dataclasses.field(default_factory=dict)
    guesses: dict[UUID, Guesses] = dataclasses.field(default_factory=dict)
    commits: int = 0

    def deliveries(self) -> list[DeliveryRequested]:
        """The delivery requests in the outbox, oldest first."""
        events = [EVENT_DECODER.decode(payload) for _, payload in self.outbox]
        return [e for e in events if isinstance(e, DeliveryRequested)]

    def events(self) -> list[str]:
        return [event for event, _, _ in self.audit]


class FakeUsers:
    def __init__(self, world: World) -> None:
        self._w = world

    async def lock_address(self, kind: str, value: str) -> None:
        return None  # one test, one task: nothing runs in parallel

    async def get(self, user_id: UUID) -> User | None:
        return self._w.users.get(user_id)

    async def get_for_update(self, user_id: UUID) -> User | None:
        return self._w.users.get(user_id)

    async def credential(self, user_id: UUID, kind: CredentialType) -> Credential | None:
        mine = [c for c in self._w.credentials if c.user_id == user_id and c.type == kind]
        mine.sort(key=lambda c: c.verified_at is None)
        return mine[0] if mine else None

    async def contact(self, user_id: UUID) -> Credential | None:
        verified = [
            c for c in self._w.credentials if c.user_id == user_id and c.verified_at is not None
        ]
        verified.sort(key=lambda c: c.type != CredentialType.EMAIL)
        return verified[0] if verified else None

    async def verified_owner(self, kind: CredentialType, value: str) -> User | None:
        return self._owner(lambda c: c.verified_at is not None, kind, value)

    async def unverified_sign_in_owner(self, kind: CredentialType, value: str) -> User | None:
        return self._owner(lambda c: c.verified_at is None and c.sign_in_unverified, kind, value)

    async def login_candidate(self, kind: CredentialType, value: str) -> User | None:
        return (
            await self.verified_owner(kind, value)
            or await self.unverified_sign_in_owner(kind, value)
            or self._owner(
                lambda c: self._w.users[c.user_id].status is AccountStatus.PENDING, kind, value
            )
        )

    def _owner(
        self, keep: Callable[[Credential], bool], kind: CredentialType, value: str
    ) -> User | None:
        for c in reversed(self._w.credentials):
            if c.type == kind and c.value == value and keep(c):
                return self._w.users[c.user_id]
        return None

    async def delete_pending_with(self, kind: CredentialType, value: str) -> None:
        gone = {
            c.user_id
            for c in self._w.credentials
            if c.type == kind
            and c.value == value
            and self._w.users[c.user_id].status is AccountStatus.PENDING
        }
        self._w.credentials = [c for c in self._w.credentials if c.user_id not in gone]
        for user_id in gone:
            del self._w.users[user_id]

    async def add_pending(self, user: User, credential: Credential) -> None:
        self._w.users[user.id] = user
        self._w.credentials.append(credential)

    async def add_active_unverified(self, user: User, credential: Credential) -> None:
        self._w.users[user.id] = user
        self._w.credentials.append(msgspec.structs.replace(credential, sign_in_unverified=True))

    async def activate(self, user_id: UUID, credential_id: UUID, at: datetime) -> None:
        await self.verify_credential(credential_id, at)
        self._set(user_id, status=AccountStatus.ACTIVE)

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        self._set(user_id, password_hash=password_hash)

    async def replace_password(self, user_id: UUID, password_hash: str, at: datetime) -> int:
        version = self._w.users[user_id].credential_version + 1
        self._set(user_id, password_hash=password_hash, credential_version=version)
        return version

    async def set_profile(self, user_id: UUID, name: str | None, locale: str) -> None:
        self._set(user_id, name=name, locale=locale)

    async def record_login(self, user_id: UUID, at: datetime, device: str = "") -> None:
        return None

    async def credentials_of(self, user_id: UUID) -> list[Credential]:
        return [c for c in self._w.credentials if c.user_id == user_id]

    async def add_credential(self, credential: Credential) -> None:
        self._w.credentials.append(credential)

    async def delete_unverified(self, user_id: UUID, kind: CredentialType) -> None:
        self._w.credentials = [
            c
            for c in self._w.credentials
            if not (
                c.user_id == user_id
                and c.type == kind
                and c.verified_at is None
                and not c.sign_in_unverified
            )
        ]

    async def delete_credential(self, credential_id: UUID) -> None:
        self._w.credentials = [c for c in self._w.credentials if c.id != credential_id]

    async def verify_credential(self, credential_id: UUID, at: datetime) -> None:
        mine = next(c for c in self._w.credentials if c.id == credential_id)
        owner = await self.verified_owner(mine.type, mine.value)
        if owner is not None and owner.id != mine.user_id:
            raise CredentialTakenError
        self._w.credentials = [
            msgspec.structs.replace(c, verified_at=at, sign_in_unverified=False)
            if c.id == credential_id
            else c
            for c in self._w.credentials
        ]

    async def set_mfa_mode(self, user_id: UUID, mode: MfaMode) -> None:
        self._set(user_id, mfa_mode=mode)

    def _set(self, user_id: UUID, **changes: object) -> None:
        self._w.users[user_id] = msgspec.structs.replace(self._w.users[user_id], **changes)


class FakeOtps:
    def __init__(self, world: World) -> None:
        self._w = world

    async def add(self, otp: NewOtp) -> None:
        self._w.otps.append(_Otp(row=otp))

    async def latest_for_update(
        self, user_id: UUID, purpose: OtpPurpose, recipient: str | None = None
    ) -> StoredOtp | None:
        for otp in reversed(self._w.otps):
            row = otp.row
            if row.user_id != user_id or row.purpose != purpose:
                continue
            if recipient is None or row.recipient == recipient:
                stored = msgspec.structs.asdict(row)
                stored |= {"attempts": otp.attempts, "consumed_at": otp.consumed_at}
                return msgspec.convert(stored, StoredOtp)
        return None

    async def channel_of(self, otp_id: UUID) -> str:
        return self._find(otp_id).row.channel

    async def spend_attempt(self, otp_id: UUID) -> None:
        self._find(otp_id).attempts += 1

    async def consume(self, otp_id: UUID, at: datetime) -> None:
        self._find(otp_id).consumed_at = at

    def _find(self, otp_id: UUID) -> _Otp:
        return next(o for o in self._w.otps if o.row.id == otp_id)


class FakeLedger:
    def __init__(self, world: World, clock: FakeClock) -> None:
        self._w = world
        self._clock = clock

    async def record(self, recipient: str, client_ip: str) -> None:
        self._w.ledger.append((recipient, client_ip, self._clock.now()))

    async def last_to(self, recipient: str) -> datetime | None:
        return max((at for to, _, at in self._w.ledger if to == recipient), default=None)

    async def count_to(self, recipient: str, since: datetime) -> int:
        return sum(1 for to, _, at in self._w.ledger if to == recipient and at >= since)

    async def count_from(self, client_ip: str, since: datetime) -> int:
        return sum(1 for _, ip, at in self._w.ledger if ip == client_ip and at >= since)


class FakeOutbox:
    def __init__(self, world: World) -> None:
        self._w = world

    async def add(
        self,
        event_id: UUID,
        subject: str,
        payload: bytes,
        headers: dict[str, str],
        *,
        erase_on_publish: bool = False,
    ) -> None:
        self._w.outbox.append((subject, payload))


class FakeThrottle:
    """The lockout rules of `domain/lockout.py` on plain counters (no windows, no TTLs)."""

    def __init__(self, world: World) -> None:
        self._w = world

    def _at(self, scope: Scope, subject: str, ip: str) -> _Counter:
        return self._w.throttle.setdefault((scope, subject, ip), _Counter())

    async def reserve(
        self, scope: Scope, subject: str, ip: str, policy: LockoutPolicy
    ) -> Reservation:
        counter = self._at(scope, subject, ip)
        lock_s = policy.lock_duration(scope, max(0, counter.lock_count - 1))
        state = lockout.ThrottleState(
            failures=counter.failures,
            in_flight=counter.in_flight,
            locked_for_s=lock_s if counter.locked else 0,
        )
        match lockout.decide(policy, scope, state):
            case lockout.Decision.LOCKED:
                return Reservation(False, retry_after_s=lock_s)
            case lockout.Decision.LOCK:
                seconds = policy.lock_duration(scope, counter.lock_count)
                counter.locked, counter.failures = True, 0
                counter.lock_count += 1
                return Reservation(False, retry_after_s=seconds, newly_locked=True)
            case lockout.Decision.BUSY:
                return Reservation(False, retry_after_s=1, busy=True)
            case lockout.Decision.ALLOW:
                counter.in_flight += 1
                return Reservation(True)

    async def failed(self, scope: Scope, subject: str, ip: str, policy: LockoutPolicy) -> None:
        counter = self._at(scope, subject, ip)
        counter.in_flight = max(0, counter.in_flight - 1)
        counter.failures += 1

    async def clear(self, scope: Scope, subject: str, ip: str) -> None:
        counter = self._at(scope, subject, ip)
        counter.in_flight = max(0, counter.in_flight - 1)
        counter.failures = counter.lock_count = 0

    async def unreserve(self, scope: Scope, subject: str, ip: str) -> None:
        counter = self._at(scope, subject, ip)
        counter.in_flight = max(0, counter.in_flight - 1)

    async def release(self, subject: str) -> None:
        for key in [k for k in self._w.throttle if k[1] == subject]:
            del self._w.throttle[key]


class FakeAudit:
    def __init__(self, world: World) -> None:
        self._w = world

    async def record(
        self, event: str, user_id: UUID | None, subject: str, ip: str, actor: str = "user"
    ) -> None:
        self._w.audit.append((event, user_id, subject))


class FakeTotpSecrets:
    def __init__(self, world: World) -> None:
        self._w = world

    async def get_for_update(self, user_id: UUID) -> StoredTotp | None:
        return self._w.totp.get(user_id)

    async def put_pending(self, user_id: UUID, key_id: str, sealed: bytes) -> None:
        self._w.totp[user_id] = StoredTotp(
            user_id=user_id, key_id=key_id, secret_sealed=sealed, confirmed_at=None, last_step=0
        )

    async def confirm(self, user_id: UUID, at: datetime, step: int) -> None:
        totp = self._w.totp[user_id]
        self._w.totp[user_id] = msgspec.structs.replace(totp, confirmed_at=at, last_step=step)

    async def use_step(self, user_id: UUID, step: int) -> None:
        self._w.totp[user_id] = msgspec.structs.replace(self._w.totp[user_id], last_step=step)

    async def delete(self, user_id: UUID) -> None:
        self._w.totp.pop(user_id, None)


class FakeRecoveryCodes:
    def __init__(self, world: World) -> None:
        self._w = world

    async def replace(self, user_id: UUID, digests: list[bytes]) -> None:
        self._w.recovery[user_id] = dict.fromkeys(digests)

    async def use(self, user_id: UUID, digest: bytes, at: datetime) -> bool:
        codes = self._w.recovery.get(user_id, {})
        if digest not in codes or codes[digest] is not None:
            return False
        codes[digest] = at
        return True

    async def exist(self, user_id: UUID) -> bool:
        return bool(self._w.recovery.get(user_id))


class FakeGuesses:
    def __init__(self, world: World) -> None:
        self._w = world

    async def lock(self, user_id: UUID, now: datetime) -> Guesses:
        return self._w.guesses.get(user_id, Guesses(failures=0, window_started_at=now))

    async def save(self, user_id: UUID, guesses: Guesses) -> None:
        self._w.guesses[user_id] = guesses

    async def clear(self, user_id: UUID) -> None:
        self._w.guesses.pop(user_id, None)


class FakeAccountViews:
    """Reads the committed world, as the SQL view reads outside any unit of work."""

    def __init__(self, world: World) -> None:
        self._w = world

    async def get(self, user_id: UUID) -> AccountView | None:
        user = self._w.users.get(user_id)
        if user is None:
            return None
        at = datetime(2026, 1, 1, tzinfo=UTC)
        return AccountView(
            user=user,
            credentials=[c for c in self._w.credentials if c.user_id == user_id],
            totp=self._w.totp.get(user_id),
            activity=Activity(
                created_at=at, last_login_at=None, last_login_device="", password_changed_at=None
            ),
        )


class FakeUnitOfWork:
    """A copy of the world for the block; `commit()` makes it the world."""

    def __init__(self, world: World, clock: FakeClock) -> None:
        self._world = world
        self._clock = clock

    async def __aenter__(self) -> Self:
        w = self._work = copy.deepcopy(self._world)
        self.users, self.otps, self.outbox = FakeUsers(w), FakeOtps(w), FakeOutbox(w)
        self.ledger, self.audit = FakeLedger(w, self._clock), FakeAudit(w)
        self.throttle, self.guesses = FakeThrottle(w), FakeGuesses(w)
        self.totp, self.recovery = FakeTotpSecrets(w), FakeRecoveryCodes(w)
        return self

    async def commit(self) -> None:
        committed = copy.deepcopy(self._work)
        for field in dataclasses.fields(World):
            setattr(self._world, field.name, getattr(committed, field.name))
        self._world.commits += 1

    async def __aexit__(self, *exc_info: object) -> None:
        return None  # what was not committed is dropped with the copy


class Fixture:
    """A world, its clock and unit of work factory, and the one sender every flow shares."""

    def __init__(self, policy: CodePolicy | None = None) -> None:
        self.world = World()
        self.clock = FakeClock()
        self.hasher = FakeHasher()
        self.codes = Codes(policy or CodePolicy(), CODE_KEY, "k1", OtpStream())

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self.world, self.clock)

    def views(self) -> FakeAccountViews:
        return FakeAccountViews(self.world)

    def add_user(
        self,
        *,
        email: str | None = "ada@example.com",
        phone: str | None = None,
        verified: bool = True,
        status: AccountStatus = AccountStatus.ACTIVE,
        mfa_mode: MfaMode = MfaMode.NONE,
        password: str = PASSWORD,
        locale: str = "en",
    ) -> User:
        """A user with the given credentials, committed."""
        user = User(
            id=uuid.uuid4(),
            status=status,
            locale=locale,
            password_hash=f"hash:{password}",
            mfa_mode=mfa_mode,
        )
        self.world.users[user.id] = user
        at = self.clock.now() if verified else None
        for kind, value in ((CredentialType.EMAIL, email), (CredentialType.PHONE, phone)):
            if value is not None:
                self.world.credentials.append(
                    Credential(
                        id=uuid.uuid4(), user_id=user.id, type=kind, value=value, verified_at=at
                    )
                )
        return user

    def last_code(self) -> str:
        """The code of the newest delivery request."""
        code = self.world.deliveries()[-1].code
        assert code is not None
        return code
