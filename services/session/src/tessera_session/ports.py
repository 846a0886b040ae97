"""What the service layer needs from the outside world; adapters implement these (Redis, NATS,
identity's HTTP API, the signing keys), built in `bootstrap.py`; unit tests fake them."""

from typing import Protocol, runtime_checkable

from tessera_session.domain.challenge import ChallengeState, MfaMode
from tessera_session.domain.family import (
    Created,
    NewFamily,
    Rotated,
    RotationAttempt,
    SessionInfo,
)
from tessera_shared.contracts import internal
from tessera_shared.contracts.tokens import AccessClaims, ChallengeClaims


class Families(Protocol):
    """Refresh families (sessions), each step atomic (`domain/family.py`)."""

    async def create(self, family: NewFamily, *, completes: str | None = None) -> Created | None:
        """Store it, replacing the family of the same device+app, within the per-user cap;
        `completes`: the MFA challenge this sign-in completes in the same step, None (and
        nothing stored) when that challenge is no longer open."""
        ...

    async def rotate(self, attempt: RotationAttempt) -> Rotated:
        """One rotation step for the presented token (`domain/family.py`)."""
        ...

    async def delete(self, user_id: str, family_id: str) -> bool: ...
    async def delete_all(self, user_id: str, keep: str | None = None) -> int:
        """End every family of the user but `keep`; how many ended."""
        ...

    async def sessions(self, user_id: str) -> list[SessionInfo]: ...
    async def is_active(self, user_id: str, family_id: str) -> bool: ...


class Challenges(Protocol):
    """Open MFA challenges and their attempts (`domain/challenge.py`)."""

    async def open(self, user_id: str, challenge_id: str, ttl_s: int) -> None: ...
    async def reserve(self, user_id: str, challenge_id: str) -> ChallengeState:
        """Take one attempt before identity is asked: OPEN when taken."""
        ...

    async def wrong(self, user_id: str, challenge_id: str) -> ChallengeState:
        """The reserved attempt was a wrong code: it stays spent."""
        ...

    async def release(self, user_id: str, challenge_id: str) -> None:
        """The reserved attempt could not be checked: it is given back."""
        ...

    async def close_all(self, user_id: str) -> int: ...


class CredentialFloor(Protocol):
    """The oldest password version a new session of the user may come from."""

    async def raise_to(self, user_id: str, version: int) -> None: ...
    async def admits(self, user_id: str, version: int) -> bool: ...
    async def forget(self, user_id: str) -> None: ...


class Identity(Protocol):
    """Identity's internal API; its refusals are raised as `TesseraError`, and it being
    unreachable as 503 service_unavailable."""

    async def verify_password(self, check: internal.PasswordCheck) -> internal.Account: ...
    async def send_code(self, request: internal.CodeRequest) -> internal.CodeSent: ...
    async def verify_code(self, check: internal.CodeCheck) -> internal.CodeAccepted: ...
    async def verify_totp(self, check: internal.TotpCheck) -> internal.CodeAccepted: ...
    async def use_recovery_code(self, use: internal.RecoveryCodeUse) -> internal.CodeAccepted: ...


class SessionEvents(Protocol):
    """Session events for other parts, best effort (never fails the caller)."""

    async def reuse_detected(
        self, *, user_id: str, family_id: str, device_id: str, app_id: str, ip: str
    ) -> None: ...


class Signer(Protocol):
    """Signs this service's tokens with the current key."""

    def access(
        self, *, user_id: str, family_id: str, device: str, app: str, amr: list[str], ttl_s: int
    ) -> str: ...

    def challenge(
        self, *, user_id: str, device: str, app: str, mfa_mode: MfaMode, ttl_s: int
    ) -> tuple[str, ChallengeClaims]: ...


class TokenVerifier(Protocol):
    """Signature, type, issuer, audience and times of a token (not whether its session lives);
    raises `TesseraError(Code.TOKEN_INVALID)` for one that fails."""

    async def verify(self, token: str) -> AccessClaims: ...
    async def verify_challenge(self, token: str) -> ChallengeClaims: ...


@runtime_checkable  # litestar checks a dependency's type with isinstance
class PublicKeys(Protocol):
    """The public keys verifying this service's tokens, as a JWKS document."""

    def jwks(self) -> dict[str, list[dict[str, str]]]: ...
