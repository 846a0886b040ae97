"""Refreshing: rotate a refresh token of this device and app, with the grace rule for
stragglers and reuse detection (`domain/family.py`). Counted in `tessera_refreshes`."""

from dataclasses import KW_ONLY, dataclass

import msgspec

from tessera_session import metrics
from tessera_session.domain.client import Client
from tessera_session.domain.family import GRACE_ROTATIONS, Rotation, RotationAttempt
from tessera_session.domain.refresh import parse, successors
from tessera_session.ports import Families, SessionEvents
from tessera_session.service.start import SessionStarter, Tokens
from tessera_shared.errors import Code, TesseraError


@dataclass(frozen=True, slots=True)
class Refresh:
    starter: SessionStarter
    families: Families
    events: SessionEvents
    _: KW_ONLY
    refresh_key: bytes

    async def refresh(self, raw: str | None, client: Client) -> Tokens:
        """Rotate a refresh token of this device and app (an unnamed device: the family's own).

        401 refresh_token_invalid for anything but the current token or a straggler inside
        the grace window (`domain/family.py`), which gets the current one; another token of
        the family revokes it and emits reuse_detected.
        """
        token = parse(raw)
        if token is None:
            metrics.REFRESHES.labels(metrics.refresh_result(None)).inc()
            raise TesseraError(Code.REFRESH_TOKEN_INVALID)
        chain = successors(token, self.refresh_key, GRACE_ROTATIONS)
        rotated = await self.families.rotate(
            RotationAttempt(
                user_id=token.user_id,
                family_id=token.family_id,
                presented=token.digest,
                successors=[t.digest for t in chain],
                device=client.device_id,
                app=client.app_id,
                ip=client.ip,
                user_agent=client.user_agent,
            )
        )
        metrics.REFRESHES.labels(metrics.refresh_result(rotated.outcome)).inc()
        if rotated.outcome is Rotation.REUSE:
            metrics.REUSE_DETECTED.inc()
            await self.events.reuse_detected(
                user_id=token.user_id,
                family_id=token.family_id,
                device_id=rotated.device_id,
                app_id=client.app_id,
                ip=client.ip,
            )
        if not rotated.outcome.succeeded:
            raise TesseraError(Code.REFRESH_TOKEN_INVALID)
        bound = msgspec.structs.replace(client, device_id=rotated.device_id)
        answer = chain[rotated.steps - 1]  # the new token, or for a straggler the current one
        return self.starter.tokens(token.user_id, token.family_id, rotated.amr, bound, str(answer))
