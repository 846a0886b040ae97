"""A user's sessions: checking an access token, logout, the session list, and the revocation
identity asks for after a password change or reset."""

from dataclasses import dataclass

from tessera_session.domain.family import SessionInfo
from tessera_session.ports import Challenges, CredentialFloor, Families, TokenVerifier
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.errors import Code, TesseraError
from tessera_shared.tokens.verifier import token_invalid


@dataclass(frozen=True, slots=True)
class Sessions:
    families: Families
    challenges: Challenges
    floor: CredentialFloor
    verifier: TokenVerifier

    async def current(self, token: str) -> AccessClaims:
        """Claims of a valid, not revoked access token (401 token_invalid otherwise)."""
        claims, active = await self.introspect(token)
        if claims is None or not active:
            raise token_invalid()
        return claims

    async def introspect(self, token: str) -> tuple[AccessClaims | None, bool]:
        """(claims of a validly signed token or None, whether its session is alive)."""
        try:
            claims = await self.verifier.verify(token)
        except TesseraError:
            return None, False
        return claims, await self.families.is_active(claims.sub, claims.sid)

    async def logout(self, claims: AccessClaims) -> None:
        await self.families.delete(claims.sub, claims.sid)

    async def logout_all(self, user_id: str) -> int:
        return await self.revoke(user_id, None)

    async def revoke(
        self,
        user_id: str,
        keep_session: str | None,
        credential_version: int | None = None,
        *,
        purge: bool = False,
    ) -> int:
        """End every session of the user but `keep_session` (identity, after a password
        change or reset); how many ended. Their access tokens stop working at once.

        With the new password's `credential_version`, sign-ins checked against an older
        password do not start a session after this either (the floor is raised first: see
        `adapters/credential_floor.py`). The open MFA challenges end before the families: a
        password that was good before this cannot turn into a session after it (a challenge
        completing meanwhile makes its family before the families end, in one step; see
        `SecondFactorSignIn._complete`).

        `purge`: the account was erased; the floor goes too, so no key of the user is left."""
        if credential_version is not None:
            await self.floor.raise_to(user_id, credential_version)
        await self.challenges.close_all(user_id)
        ended = await self.families.delete_all(user_id, keep=keep_session)
        if purge:  # an erased account: its floor was raised by the revocation before this one
            await self.floor.forget(user_id)
        return ended

    async def sessions_of(self, user_id: str) -> list[SessionInfo]:
        return await self.families.sessions(user_id)

    async def end(self, user_id: str, family_id: str) -> None:
        if not await self.families.delete(user_id, family_id):
            raise TesseraError(Code.SESSION_NOT_FOUND)
