"""Starting a session (a new refresh family) and the tokens a session answers with."""

from dataclasses import KW_ONLY, dataclass

import msgspec

from tessera_session import metrics
from tessera_session.domain.client import Client
from tessera_session.domain.family import NewFamily
from tessera_session.domain.refresh import new_family
from tessera_session.ports import Families, Signer


class Tokens(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    expires_in: int
    user_id: str
    refresh_token: str
    session_id: str
    """The family (`sid`) the tokens belong to."""


@dataclass(frozen=True, slots=True)
class SessionStarter:
    families: Families
    signer: Signer
    _: KW_ONLY
    access_ttl_s: int

    async def start(self, user_id: str, amr: list[str], client: Client) -> Tokens:
        """A new family for this device+app (replacing the previous one) and its tokens."""
        tokens = await self.completing(user_id, amr, client, challenge=None)
        assert tokens is not None  # only a challenge to complete can be gone
        return tokens

    async def completing(
        self, user_id: str, amr: list[str], client: Client, *, challenge: str | None
    ) -> Tokens | None:
        """As `start`, completing the open MFA challenge `challenge` in the same step; None
        when it is gone (then no session starts)."""
        token = new_family(user_id)
        created = await self.families.create(
            NewFamily(
                user_id=user_id,
                family_id=token.family_id,
                device_id=client.device_id,
                app_id=client.app_id,
                amr=" ".join(amr),
                ip=client.ip,
                user_agent=client.user_agent,
                digest=token.digest,
            ),
            completes=challenge,
        )
        if created is None:
            return None
        if created.capped:
            metrics.SESSIONS_CAPPED.inc(created.capped)
        return self.tokens(user_id, token.family_id, amr, client, str(token))

    def tokens(
        self, user_id: str, family_id: str, amr: list[str], client: Client, refresh: str
    ) -> Tokens:
        """A new access token of the family, answered along with its refresh token."""
        access = self.signer.access(
            user_id=user_id,
            family_id=family_id,
            device=client.device_id,
            app=client.app_id,
            amr=amr,
            ttl_s=self.access_ttl_s,
        )
        # One second less than the lifetime (the guide answers 899): the client refreshes
        # before the token can expire in flight.
        return Tokens(
            access_token=access,
            expires_in=self.access_ttl_s - 1,
            user_id=user_id,
            refresh_token=refresh,
            session_id=family_id,
        )
