"""The refresh-family state machine and its race contract. Pure.

A family is one session: (user, device, app). States and transitions, each one atomic in Redis:

    (none) --login--> ACTIVE(current=T0)
    ACTIVE(current=Tn) --refresh with Tn--> ACTIVE(current=Tn+1, previous=Tn, rotated_at=now)
    ACTIVE(current=Tn) --refresh with Tn-j, 1 <= j <= GRACE_ROTATIONS, at most the grace
           window after Tn-j was rotated away--> unchanged; answer the current Tn
    ACTIVE --refresh with any other token the family issued (older, or past its window)-->
           REVOKED (reuse)
    ACTIVE --logout / logout-all / delete / new login on the same device+app--> REVOKED
    ACTIVE --no refresh for the sliding lifetime, or absolute cap reached--> EXPIRED (key TTL)

Race contract: any number of concurrent refreshes presenting the same current token Tn inside
the grace window all succeed and all receive Tn+1 (derived, so identical); the family is never
revoked by honest concurrency. A token that was never issued for the family is refused without
revoking it, so a forged cookie cannot end someone else's session. A device or app different
from the family's is refused and nothing rotates. A caller that names no device (the /auth body
refresh without X-Device-ID) is taken to be the family's own device; the app must still match.

Grace rule (stragglers): a refresh token that was rotated away keeps refreshing for the grace
window G (`refresh_grace_s`) counted from its own rotation, if it is one of the last
GRACE_ROTATIONS tokens rotated away; it is answered with the family's current token (the same
answer as the request that won the race) and a new access token, and nothing changes. So a tab
that slept through two quick rotations by other tabs gets the current token instead of ending
the session. Outside that (an older token, or one presented more than G after its rotation)
it is reuse: the family is revoked and `session.reuse_detected` emitted. A token is j
rotations behind when its j-th derived successor is the current token.
"""

import enum

import msgspec

GRACE_ROTATIONS = 2
"""How many tokens back a straggler may be: the previous one, and the one before it."""


class Rotation(enum.StrEnum):
    ROTATED = "rotated"
    REPLAYED = "replayed"
    """A straggler inside the grace window: the current token is answered again."""
    REUSE = "reuse"
    """An old token came back: the family is revoked."""
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"
    EXPIRED = "expired"

    @property
    def succeeded(self) -> bool:
        return self in (Rotation.ROTATED, Rotation.REPLAYED)


class NewFamily(msgspec.Struct, frozen=True, kw_only=True):
    """A session to store: who, where from, how it was proven, and its first token's digest."""

    user_id: str
    family_id: str
    device_id: str
    app_id: str
    amr: str
    ip: str
    user_agent: str
    digest: str


class Created(msgspec.Struct, frozen=True, kw_only=True):
    replaced: str | None
    """The family of the same device+app this one replaced."""
    capped: int
    """How many of the user's least recently used families the per-user cap ended."""


class RotationAttempt(msgspec.Struct, frozen=True, kw_only=True):
    """A refresh token presented for rotation, and who presents it."""

    user_id: str
    family_id: str
    presented: str
    """The presented token's digest."""
    successors: list[str]
    """Digests of the presented token's next tokens, as many as a straggler may be behind
    (`GRACE_ROTATIONS`); the first becomes the current token on rotation."""
    device: str
    """The caller's device; "" accepts the family's own (never its app)."""
    app: str
    ip: str
    user_agent: str


class Rotated(msgspec.Struct, frozen=True, kw_only=True):
    outcome: Rotation
    device_id: str
    """The family's device ("" when the family is unknown or another device's or app's)."""
    amr: list[str]
    """The methods of the sign-in that started the family."""
    steps: int
    """The answer is the presented token's `steps`-th successor (1: its own; more for a
    straggler, whose answer is the current token); 0 when refused."""


class SessionInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One live family as the user's session list shows it (times in ms since the epoch)."""

    id: str
    device_id: str
    app_id: str
    created_at: int
    last_used_at: int
    ip: str
    user_agent: str
    amr: str
