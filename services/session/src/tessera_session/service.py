"""Use cases: authenticate, refresh (rotate), logout, list and end sessions."""

import msgspec

from tessera_session.adapters.events import SessionEvents
from tessera_session.adapters.families import NewFamily, RedisFamilies, SessionInfo
from tessera_session.adapters.identity_client import IdentityClient
from tessera_session.adapters.tokens import TokenIssuer
from tessera_session.domain.family import Rotation
from tessera_session.domain.refresh import new_family, parse, successor
from tessera_shared.contracts.internal import CodeRequest, PasswordCheck
from tessera_shared.contracts.tokens import AccessClaims
from tessera_shared.errors import TesseraError
from tessera_shared.tokens.verifier import AccessTokenVerifier, token_invalid


class Client(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the device and app headers, and where from."""

    device_id: str
    app_id: str
    ip: str
    user_agent: str


class Tokens(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    expires_in: int
    user_id: str
    refresh_token: str


class MfaRequired(msgspec.Struct, frozen=True, kw_only=True):
    mfa_mode: str
    challenge_token: str
    user_id: str


class Sessions:
    def __init__(
        self,
        families: RedisFamilies,
        issuer: TokenIssuer,
        verifier: AccessTokenVerifier,
        identity: IdentityClient,
        events: SessionEvents,
        *,
        access_ttl_s: int,
        challenge_ttl_s: int,
        refresh_key: bytes,
    ) -> None:
        self._families = families
        self.issuer = issuer
        self._verifier = verifier
        self._identity = identity
        self._events = events
        self._access_ttl_s = access_ttl_s
        self._challenge_ttl_s = challenge_ttl_s
        self._refresh_key = refresh_key

    async def authenticate(
        self, username: str, password: str, client: Client
    ) -> Tokens | MfaRequired:
        account = await self._identity.verify_password(
            PasswordCheck(username=username, password=password, client_ip=client.ip)
        )
        user_id = str(account.user_id)
        if account.mfa_mode != "none":
            challenge, _ = self.issuer.challenge(
                user_id=user_id,
                device=client.device_id,
                app=client.app_id,
                mfa_mode=account.mfa_mode,
                ttl_s=self._challenge_ttl_s,
            )
            if account.mfa_mode in ("email", "sms"):
                await self._identity.send_code(
                    CodeRequest(user_id=account.user_id, client_ip=client.ip)
                )
            return MfaRequired(
                mfa_mode=account.mfa_mode, challenge_token=challenge, user_id=user_id
            )
        return await self.start(user_id, ["pwd"], client)

    async def start(self, user_id: str, amr: list[str], client: Client) -> Tokens:
        """A new family for this device+app (replacing the previous one) and its tokens."""
        token = new_family(user_id)
        await self._families.create(
            NewFamily(
                user_id=user_id,
                family_id=token.family_id,
                device_id=client.device_id,
                app_id=client.app_id,
                amr=" ".join(amr),
                ip=client.ip,
                user_agent=client.user_agent,
                digest=token.digest,
            )
        )
        return self._tokens(user_id, token.family_id, amr, client, str(token))

    async def refresh(self, raw: str | None, client: Client) -> Tokens:
        token = parse(raw)
        if token is None:
            raise TesseraError("refresh_token_invalid")
        next_token = successor(token, self._refresh_key)
        outcome = await self._families.rotate(
            user_id=token.user_id,
            family_id=token.family_id,
            presented=token.digest,
            successor=next_token.digest,
            device=client.device_id,
            app=client.app_id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        if outcome is Rotation.REUSE:
            await self._events.reuse_detected(
                user_id=token.user_id,
                family_id=token.family_id,
                device_id=client.device_id,
                app_id=client.app_id,
                ip=client.ip,
            )
        if not outcome.succeeded:
            raise TesseraError("refresh_token_invalid")
        amr = (await self._families.amr(token.user_id, token.family_id)).split()
        return self._tokens(token.user_id, token.family_id, amr, client, str(next_token))

    async def logout(self, claims: AccessClaims) -> None:
        await self._families.delete(claims.sub, claims.sid)

    async def logout_all(self, user_id: str) -> int:
        return await self._families.delete_all(user_id)

    async def sessions_of(self, user_id: str) -> list[SessionInfo]:
        return await self._families.sessions(user_id)

    async def end(self, user_id: str, family_id: str) -> None:
        if not await self._families.delete(user_id, family_id):
            raise TesseraError("session_not_found")

    async def current(self, token: str) -> AccessClaims:
        """Claims of a valid, not revoked access token (401 token_invalid otherwise)."""
        claims, active = await self.introspect(token)
        if claims is None or not active:
            raise token_invalid()
        return claims

    async def introspect(self, token: str) -> tuple[AccessClaims | None, bool]:
        """(claims of a validly signed token or None, whether its session is alive)."""
        try:
            claims = await self._verifier.verify(token)
        except TesseraError:
            return None, False
        return claims, await self._families.is_active(claims.sub, claims.sid)

    def _tokens(
        self, user_id: str, family_id: str, amr: list[str], client: Client, refresh: str
    ) -> Tokens:
        access = self.issuer.access(
            user_id=user_id,
            family_id=family_id,
            device=client.device_id,
            app=client.app_id,
            amr=amr,
            ttl_s=self._access_ttl_s,
        )
        # One second less than the lifetime (the guide answers 899): the client refreshes
        # before the token can expire in flight.
        return Tokens(
            access_token=access,
            expires_in=self._access_ttl_s - 1,
            user_id=user_id,
            refresh_token=refresh,
        )
