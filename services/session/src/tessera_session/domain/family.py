"""The refresh-family state machine and its race contract. Pure.

A family is one session: (user, device, app). States and transitions, each one atomic in Redis:

    (none) --login--> ACTIVE(current=T0)
    ACTIVE(current=Tn) --refresh with Tn--> ACTIVE(current=Tn+1, previous=Tn, rotated_at=now)
    ACTIVE --refresh with previous Tn, within the grace window--> unchanged; answer Tn+1 again
    ACTIVE --refresh with an older token, or previous after the grace window--> REVOKED (reuse)
    ACTIVE --logout / logout-all / delete / new login on the same device+app--> REVOKED
    ACTIVE --no refresh for the sliding lifetime, or absolute cap reached--> EXPIRED (key TTL)

Race contract: any number of concurrent refreshes presenting the same current token Tn inside
the grace window all succeed and all receive Tn+1 (derived, so identical); the family is never
revoked by honest concurrency. A token that was never issued for the family is refused without
revoking it, so a forged cookie cannot end someone else's session. A device or app different
from the family's is refused and nothing rotates. A caller that names no device (the /auth body
refresh without X-Device-ID) is taken to be the family's own device; the app must still match.
"""

import enum


class Rotation(enum.StrEnum):
    ROTATED = "rotated"
    REPLAYED = "replayed"
    """Inside the grace window: the same successor is answered again."""
    REUSE = "reuse"
    """An old token came back: the family is revoked."""
    MISMATCH = "mismatch"
    UNKNOWN = "unknown"
    EXPIRED = "expired"

    @property
    def succeeded(self) -> bool:
        return self in (Rotation.ROTATED, Rotation.REPLAYED)
