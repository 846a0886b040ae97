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
