"""In-memory stand-ins for the session service's ports (`tessera_session.ports`), so its rules
run in microseconds without Redis, NATS, identity or signing keys.

They keep the contracts the service relies on, not the adapters' whole behaviour: the families
complete a challenge in the same step that stores the session, count a cap, and decide a
rotation by the grace rule of `domain/family.py` on a clock the test moves. The Lua scripts and
their races stay in the integration tests.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from tessera_session.domain import family as domain
from tessera_session.domain.challenge import MAX_WRONG_CODES, ChallengeState, MfaMode
from tessera_session.domain.client import Client
from tessera_session.service.refresh import Refresh
from tessera_session.service.second_factor import SecondFactorSignIn
from tessera_session.service.sessions import Sessions
from tessera_session.service.sign_in import SignIn
from tessera_session.service.start import SessionStarter
from tessera_shared.contracts import internal
from tessera_shared.contracts.tokens import AccessClaims, ChallengeClaims
from tessera_shared.errors import TesseraError
from tessera_shared.tokens.verifier import token_invalid

ACCESS_TTL_S = 900
CHALLENGE_TTL_S = 300
GRACE_S = 10.0
PASSWORD = "right password"
CODE = "246810"
RECOVERY_CODE = "recovery-1"
CLIENT = Client(device_id="phone", app_id="default", ip="192.0.2.7", user_agent="tests")


class Clock:
    """Seconds; only the tests move it."""

    def __init__(self) -> None:
        self.now = 1_000_000.0


@dataclass
class Challenge:
    wrong: int = 0
    pending: int = 0


class FakeChallenges:
    def __init__(self, max_wrong: int = MAX_WRONG_CODES) -> None:
        self.open_ones: dict[tuple[str, str], Challenge] = {}
        self._max_wrong = max_wrong

    async def open(self, user_id: str, challenge_id: str, ttl_s: int) -> None:
        self.open_ones[(user_id, challenge_id)] = Challenge()

    async def reserve(self, user_id: str, challenge_id: str) -> ChallengeState:
        challenge = self.open_ones.get((user_id, challenge_id))
        if challenge is None:
            return ChallengeState.GONE
        if challenge.wrong + challenge.pending >= self._max_wrong:
            return ChallengeState.EXHAUSTED
        challenge.pending += 1
        return ChallengeState.OPEN

    async def wrong(self, user_id: str, challenge_id: str) -> ChallengeState:
        challenge = self.open_ones.get((user_id, challenge_id))
        if challenge is None:
            return ChallengeState.GONE
        challenge.wrong += 1
        if challenge.wrong >= self._max_wrong:
            del self.open_ones[(user_id, challenge_id)]
            return ChallengeState.EXHAUSTED
        challenge.pending = max(challenge.pending - 1, 0)
        return ChallengeState.OPEN

    async def release(self, user_id: str, challenge_id: str) -> None:
        challenge = self.open_ones.get((user_id, challenge_id))
        if challenge is not None:
            challenge.pending = max(challenge.pending - 1, 0)

    async def close_all(self, user_id: str) -> int:
        mine = [key for key in self.open_ones if key[0] == user_id]
        for key in mine:
            del self.open_ones[key]
        return len(mine)

    def complete(self, user_id: str, challenge_id: str) -> bool:
        """What the families' create step does with the challenge it completes."""
        return self.open_ones.pop((user_id, challenge_id), None) is not None


def refused(outcome: domain.Rotation) -> domain.Rotated:
    return domain.Rotated(outcome=outcome, device_id="", amr=[], steps=0)


@dataclass
class Family:
    new: domain.NewFamily
    created_at: float
    last_used_at: float
    current: str
    retired: list[tuple[str, float]] = field(default_factory=list)
    """Digests rotated away and when, newest first."""


class FakeFamilies:
    def __init__(self, challenges: FakeChallenges, clock: Clock, *, max_per_user: int = 10) -> None:
        self.by_id: dict[str, Family] = {}
        self._challenges = challenges
        self._clock = clock
        self._max_per_user = max_per_user

    def of(self, user_id: str) -> list[Family]:
        return [f for f in self.by_id.values() if f.new.user_id == user_id]

    async def create(
        self, family: domain.NewFamily, *, completes: str | None = None
    ) -> domain.Created | None:
        if completes is not None and not self._challenges.complete(family.user_id, completes):
            return None
        replaced = None
        for other in self.of(family.user_id):
            if (other.new.device_id, other.new.app_id) == (family.device_id, family.app_id):
                replaced = other.new.family_id
                del self.by_id[replaced]
        now = self._clock.now
        self.by_id[family.family_id] = Family(family, now, now, family.digest)
        others = sorted(
            (f for f in self.of(family.user_id) if f.new.family_id != family.family_id),
            key=lambda f: (f.last_used_at, f.created_at, f.new.family_id),
        )
        capped = max(len(others) + 1 - self._max_per_user, 0)
        for ended in others[:capped]:
            del self.by_id[ended.new.family_id]
        return domain.Created(replaced=replaced, capped=capped)

    async def rotate(self, attempt: domain.RotationAttempt) -> domain.Rotated:
        family = self.by_id.get(attempt.family_id)
        if family is None or family.new.user_id != attempt.user_id:
            return refused(domain.Rotation.UNKNOWN)
        new = family.new
        if (attempt.device or new.device_id) != new.device_id or attempt.app != new.app_id:
            return refused(domain.Rotation.MISMATCH)
        now = self._clock.now

        def answer(outcome: domain.Rotation, steps: int) -> domain.Rotated:
            return domain.Rotated(
                outcome=outcome, device_id=new.device_id, amr=new.amr.split(), steps=steps
            )

        if attempt.presented == family.current:
            family.retired.insert(0, (family.current, now))
            family.current, family.last_used_at = attempt.successors[0], now
            return answer(domain.Rotation.ROTATED, 1)
        for steps, digest in enumerate(attempt.successors[: domain.GRACE_ROTATIONS], start=1):
            if digest == family.current and len(family.retired) >= steps:
                if now - family.retired[steps - 1][1] <= GRACE_S:
                    return answer(domain.Rotation.REPLAYED, steps)
                break
        if any(digest == attempt.presented for digest, _ in family.retired):
            del self.by_id[new.family_id]
            return answer(domain.Rotation.REUSE, 0)
        return refused(domain.Rotation.UNKNOWN)

    async def delete(self, user_id: str, family_id: str) -> bool:
        family = self.by_id.get(family_id)
        if family is None or family.new.user_id != user_id:
            return False
        del self.by_id[family_id]
        return True

    async def delete_all(self, user_id: str, keep: str | None = None) -> int:
        ended = [f.new.family_id for f in self.of(user_id) if f.new.family_id != keep]
        for family_id in ended:
            del self.by_id[family_id]
        return len(ended)

    async def sessions(self, user_id: str) -> list[domain.SessionInfo]:
        return [
            domain.SessionInfo(
                id=f.new.family_id,
                device_id=f.new.device_id,
                app_id=f.new.app_id,
                created_at=int(f.created_at * 1000),
                last_used_at=int(f.last_used_at * 1000),
                ip=f.new.ip,
                user_agent=f.new.user_agent,
                amr=f.new.amr,
            )
            for f in sorted(self.of(user_id), key=lambda f: f.new.family_id)
        ]

    async def is_active(self, user_id: str, family_id: str) -> bool:
        family = self.by_id.get(family_id)
        return family is not None and family.new.user_id == user_id


class FakeFloor:
    def __init__(self) -> None:
        self.versions: dict[str, int] = {}

    async def raise_to(self, user_id: str, version: int) -> None:
        self.versions[user_id] = max(version, self.versions.get(user_id, -1))

    async def admits(self, user_id: str, version: int) -> bool:
        return version >= self.versions.get(user_id, -1)

    async def forget(self, user_id: str) -> None:
        self.versions.pop(user_id, None)


class FakeIdentity:
    """Accounts signing in with PASSWORD; every second factor accepts CODE or RECOVERY_CODE.

    `down`: every call answers 503 service_unavailable, as the HTTP client does when identity
    cannot be reached."""

    def __init__(self) -> None:
        self.accounts: dict[str, internal.Account] = {}
        self.down = False
        self.calls: list[Any] = []
        """Every request received, in order (the contract structs)."""

    def add(
        self,
        username: str,
        mfa_mode: Literal["none", "email", "sms", "totp"] = "none",
        credential_version: int = 0,
    ) -> str:
        user_id = uuid.uuid4()
        self.accounts[username] = internal.Account(
            user_id=user_id,
            status="active",
            mfa_mode=mfa_mode,
            locale="en",
            credential_version=credential_version,
        )
        return str(user_id)

    def _received(self, request: Any) -> None:
        self.calls.append(request)
        if self.down:
            raise TesseraError("service_unavailable", headers={"retry-after": "2"})

    def calls_of(self, kind: type) -> list[Any]:
        return [call for call in self.calls if isinstance(call, kind)]

    async def verify_password(self, check: internal.PasswordCheck) -> internal.Account:
        self._received(check)
        account = self.accounts.get(check.username)
        if account is None or check.password != PASSWORD:
            raise TesseraError("invalid_credentials")
        return account

    async def send_code(self, request: internal.CodeRequest) -> internal.CodeSent:
        self._received(request)
        return internal.CodeSent(channel="email", expires_in_s=300)

    async def verify_code(self, check: internal.CodeCheck) -> internal.CodeAccepted:
        self._received(check)
        if check.otp != CODE:
            raise TesseraError("otp_invalid")
        return internal.CodeAccepted()

    async def verify_totp(self, check: internal.TotpCheck) -> internal.CodeAccepted:
        self._received(check)
        if check.otp != CODE:
            raise TesseraError("otp_invalid")
        return internal.CodeAccepted()

    async def use_recovery_code(self, use: internal.RecoveryCodeUse) -> internal.CodeAccepted:
        self._received(use)
        if use.code != RECOVERY_CODE:
            raise TesseraError("recovery_code_invalid")
        return internal.CodeAccepted()


class FakeEvents:
    def __init__(self) -> None:
        self.reuse: list[dict[str, str]] = []

    async def reuse_detected(
        self, *, user_id: str, family_id: str, device_id: str, app_id: str, ip: str
    ) -> None:
        self.reuse.append(
            {"user_id": user_id, "family_id": family_id, "device_id": device_id, "app_id": app_id}
        )


class FakeTokens:
    """Signer and verifier at once: tokens are opaque ids of the claims they were issued with."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.access_claims: dict[str, AccessClaims] = {}
        self.challenge_claims: dict[str, ChallengeClaims] = {}

    def access(
        self, *, user_id: str, family_id: str, device: str, app: str, amr: list[str], ttl_s: int
    ) -> str:
        token = f"at-{uuid.uuid4()}"
        self.access_claims[token] = AccessClaims(
            **self._claims(user_id, ttl_s), sid=family_id, jti=token, amr=amr, did=device, aid=app
        )
        return token

    def challenge(
        self, *, user_id: str, device: str, app: str, mfa_mode: MfaMode, ttl_s: int
    ) -> tuple[str, ChallengeClaims]:
        token, cid = f"ct-{uuid.uuid4()}", str(uuid.uuid4())
        claims = ChallengeClaims(
            **self._claims(user_id, ttl_s), cid=cid, did=device, aid=app, mfa_mode=mfa_mode
        )
        self.challenge_claims[token] = claims
        return token, claims

    def _claims(self, user_id: str, ttl_s: int) -> dict[str, Any]:
        now = int(self._clock.now)
        return {"iss": "tessera", "aud": "tessera", "sub": user_id, "iat": now, "exp": now + ttl_s}

    async def verify(self, token: str) -> AccessClaims:
        claims = self.access_claims.get(token)
        if claims is None or claims.exp <= self._clock.now:
            raise token_invalid()
        return claims

    async def verify_challenge(self, token: str) -> ChallengeClaims:
        claims = self.challenge_claims.get(token)
        if claims is None or claims.exp <= self._clock.now:
            raise token_invalid()
        return claims


class Suite:
    """The session service wired to the fakes, as `bootstrap.build_services` wires the real
    adapters."""

    def __init__(self, *, require_totp: bool = False, max_per_user: int = 10) -> None:
        self.clock = Clock()
        self.challenges = FakeChallenges()
        self.families = FakeFamilies(self.challenges, self.clock, max_per_user=max_per_user)
        self.floor = FakeFloor()
        self.identity = FakeIdentity()
        self.events = FakeEvents()
        self.tokens = FakeTokens(self.clock)
        starter = SessionStarter(self.families, self.tokens, access_ttl_s=ACCESS_TTL_S)
        self.sign_in = SignIn(
            starter,
            self.families,
            self.challenges,
            self.floor,
            self.identity,
            self.tokens,
            challenge_ttl_s=CHALLENGE_TTL_S,
            require_totp=require_totp,
        )
        self.second_factor = SecondFactorSignIn(
            starter, self.challenges, self.tokens, self.identity
        )
        self.refresh = Refresh(starter, self.families, self.events, refresh_key=b"unit-key")
        self.sessions = Sessions(self.families, self.challenges, self.floor, self.tokens)
