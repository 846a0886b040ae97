"""Use cases: authenticate, verify the second factor, recover, refresh (rotate), logout, sessions,
revocation for identity. Both HTTP surfaces (/v1 and /auth) call these same functions."""

from uuid import UUID

import msgspec

from tessera_session import metrics
from tessera_session.adapters.challenges import RedisChallenges
from tessera_session.adapters.credential_floor import CredentialFloor
from tessera_session.adapters.events import SessionEvents
from tessera_session.adapters.families import NewFamily, RedisFamilies, SessionInfo
from tessera_session.adapters.identity_client import IdentityClient
from tessera_session.adapters.tokens import TokenIssuer
from tessera_session.domain.challenge import (
    ChallengeState,
    Factor,
    factor_of,
    mfa_step,
    spends_attempt,
)
from tessera_session.domain.family import GRACE_ROTATIONS, Rotation
from tessera_session.domain.refresh import new_family, parse, successors
from tessera_shared.contracts.internal import (
    CodeCheck,
    CodeRequest,
    PasswordCheck,
    RecoveryCodeUse,
    TotpCheck,
)
from tessera_shared.contracts.tokens import AccessClaims, ChallengeClaims
from tessera_shared.errors import TesseraError
from tessera_shared.tokens.verifier import AccessTokenVerifier, token_invalid


class Client(msgspec.Struct, frozen=True, kw_only=True):
    """Who is calling: the device and app headers, and where from."""

    device_id: str
    """X-Device-ID; "" when the caller named none, which only the /auth body routes allow for
    refresh and verify: the device is then the family's or the challenge's own (`did`)."""
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
    totp_setup_required: bool = False


class Sessions:
    def __init__(
        self,
        families: RedisFamilies,
        challenges: RedisChallenges,
        issuer: TokenIssuer,
        verifier: AccessTokenVerifier,
        identity: IdentityClient,
        events: SessionEvents,
        *,
        access_ttl_s: int,
        challenge_ttl_s: int,
        refresh_key: bytes,
        require_totp: bool = False,
        floor: CredentialFloor | None = None,
    ) -> None:
        self._families = families
        self._challenges = challenges
        self.issuer = issuer
        self._verifier = verifier
        self._identity = identity
        self._events = events
        self._access_ttl_s = access_ttl_s
        self._challenge_ttl_s = challenge_ttl_s
        self._refresh_key = refresh_key
        self._require_totp = require_totp
        self._floor = floor

    async def authenticate(
        self, username: str, password: str, client: Client
    ) -> Tokens | MfaRequired:
        try:
            answer = await self._authenticate(username, password, client)
        except TesseraError as refusal:
            metrics.LOGINS.labels(metrics.login_result(refusal.code)).inc()
            raise
        except Exception:  # Redis or NATS failed: counted, then the usual 503 or 500
            metrics.LOGINS.labels("error").inc()
            raise
        metrics.LOGINS.labels("success" if isinstance(answer, Tokens) else "mfa_required").inc()
        return answer

    async def _authenticate(
        self, username: str, password: str, client: Client
    ) -> Tokens | MfaRequired:
        account = await self._identity.verify_password(
            PasswordCheck(
                username=username,
                password=password,
                client_ip=client.ip,
                user_agent=client.user_agent,
            )
        )
        user_id = str(account.user_id)
        step = mfa_step(account.mfa_mode, require_totp=self._require_totp)
        if step is None:
            tokens = await self.start(user_id, ["pwd"], client)
            await self._refuse_if_reset(user_id, account.credential_version, tokens)
            return tokens
        challenge, claims = self.issuer.challenge(
            user_id=user_id,
            device=client.device_id,
            app=client.app_id,
            mfa_mode=step.mfa_mode,
            ttl_s=self._challenge_ttl_s,
        )
        # The state first: a code must never be sent for a challenge that cannot be completed.
        await self._challenges.open(user_id, claims.cid, self._challenge_ttl_s)
        await self._refuse_if_reset(user_id, account.credential_version)
        if step.mfa_mode in ("email", "sms"):
            await self._identity.send_code(
                CodeRequest(user_id=account.user_id, client_ip=client.ip)
            )
        return MfaRequired(
            mfa_mode=step.mfa_mode,
            challenge_token=challenge,
            user_id=user_id,
            totp_setup_required=step.totp_setup_required,
        )

    async def _refuse_if_reset(
        self, user_id: str, credential_version: int, tokens: Tokens | None = None
    ) -> None:
        """401 invalid_credentials when the checked password was replaced (reset or change)
        while the sign-in was in flight; its new session is ended (a challenge is never
        handed out). Read after the session or challenge was stored: see `CredentialFloor`."""
        if self._floor is None or await self._floor.admits(user_id, credential_version):
            return
        if tokens is not None:
            claims = await self._verifier.verify(tokens.access_token)
            await self._families.delete(user_id, claims.sid)
        raise TesseraError("invalid_credentials")

    async def verify_second_factor(
        self, challenge_token: str, code: str, *, recovery: bool, client: Client
    ) -> Tokens:
        """The full session for a challenge and its second factor (a code, or a recovery code).

        401 challenge_invalid for a challenge that is forged, expired, of another device or
        app, used or exhausted; identity's refusals (otp_invalid, recovery_code_invalid, ...)
        pass through and spend the attempt; identity down (503) does not.
        """
        return await self._second_factor(
            challenge_token, code, client, recovery=recovery, disable_mfa=False
        )

    async def recover(self, challenge_token: str, recovery_code: str, client: Client) -> Tokens:
        """As `verify_second_factor` with a recovery code, which also turns the account's MFA
        off (the person lost their factor); the session's amr is ["pwd", "recovery"]."""
        return await self._second_factor(
            challenge_token, recovery_code, client, recovery=True, disable_mfa=True
        )

    async def _second_factor(
        self, challenge_token: str, code: str, client: Client, *, recovery: bool, disable_mfa: bool
    ) -> Tokens:
        try:
            claims = await self._open_challenge(challenge_token, client)
        except TesseraError as refusal:
            unread = Factor.RECOVERY.value if recovery else metrics.UNKNOWN_FACTOR
            metrics.MFA_VERIFICATIONS.labels(unread, metrics.mfa_result(refusal.code)).inc()
            raise
        factor = factor_of(claims.mfa_mode, recovery=recovery)
        try:
            tokens = await self._complete(claims, factor, code, client, disable_mfa=disable_mfa)
        except TesseraError as refusal:
            metrics.MFA_VERIFICATIONS.labels(factor.value, metrics.mfa_result(refusal.code)).inc()
            raise
        except Exception:  # Redis failed
            metrics.MFA_VERIFICATIONS.labels(factor.value, "error").inc()
            raise
        metrics.MFA_VERIFICATIONS.labels(factor.value, "success").inc()
        return tokens

    async def _complete(
        self,
        claims: ChallengeClaims,
        factor: Factor,
        code: str,
        client: Client,
        *,
        disable_mfa: bool,
    ) -> Tokens:
        """Spend one attempt of the open challenge on `code`; its session when it is right."""
        if await self._challenges.reserve(claims.sub, claims.cid) is not ChallengeState.OPEN:
            raise TesseraError("challenge_invalid")
        try:
            await self._check(factor, UUID(claims.sub), code, client, disable_mfa=disable_mfa)
        except TesseraError as refusal:
            if spends_attempt(refusal.code):
                await self._challenges.wrong(claims.sub, claims.cid)
            else:
                await self._challenges.release(claims.sub, claims.cid)
            raise
        # The session is for the device the challenge was issued to (equal to the caller's
        # X-Device-ID when one was sent; the only source when none was).
        bound = msgspec.structs.replace(client, device_id=claims.did)
        # The session is created in the step that deletes the challenge: of two parallel
        # correct codes one gets a session, and once all sessions ended (which closes the
        # challenges first) none can.
        tokens = await self._start(
            claims.sub,
            ["pwd", factor.value],
            bound,
            completes=(claims.cid, self._challenges.keys(claims.sub, claims.cid)),
        )
        if tokens is None:
            raise TesseraError("challenge_invalid")
        return tokens

    async def _open_challenge(self, token: str, client: Client) -> ChallengeClaims:
        """Claims of a validly signed, unexpired challenge token issued to this device and app.

        An unnamed device ("") stands for the challenge's own; a named one must be it. The app
        always must be the challenge's (a missing X-App-ID is the default app).
        """
        try:
            claims = await self._verifier.verify_challenge(token)
        except TesseraError as refusal:
            if refusal.code != "token_invalid":
                raise
            raise TesseraError("challenge_invalid") from None
        device = client.device_id or claims.did
        if (claims.did, claims.aid) != (device, client.app_id):
            raise TesseraError("challenge_invalid")
        return claims

    async def _check(
        self, factor: Factor, user_id: UUID, code: str, client: Client, *, disable_mfa: bool
    ) -> None:
        """Ask identity; raises its refusal (TesseraError) unless the code is right."""
        if factor is Factor.RECOVERY:
            use = RecoveryCodeUse(
                user_id=user_id, code=code, client_ip=client.ip, disable_mfa=disable_mfa
            )
            await self._identity.use_recovery_code(use)
        elif factor is Factor.TOTP:
            await self._identity.verify_totp(TotpCheck(user_id=user_id, otp=code))
        else:
            await self._identity.verify_code(CodeCheck(user_id=user_id, otp=code))

    async def start(self, user_id: str, amr: list[str], client: Client) -> Tokens:
        """A new family for this device+app (replacing the previous one) and its tokens."""
        tokens = await self._start(user_id, amr, client, completes=None)
        assert tokens is not None  # only a challenge to complete can be gone
        return tokens

    async def _start(
        self,
        user_id: str,
        amr: list[str],
        client: Client,
        *,
        completes: tuple[str, list[str]] | None,
    ) -> Tokens | None:
        """As `start`, completing the challenge `completes` (id, keys); None when it is gone."""
        token = new_family(user_id)
        created = await self._families.create(
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
            completes=completes,
        )
        if created is None:
            return None
        if created.capped:
            metrics.SESSIONS_CAPPED.inc(created.capped)
        return self._tokens(user_id, token.family_id, amr, client, str(token))

    async def refresh(self, raw: str | None, client: Client) -> Tokens:
        """Rotate a refresh token of this device and app (an unnamed device: the family's own).

        401 refresh_token_invalid for anything but the current token or a straggler inside
        the grace window (`domain/family.py`), which gets the current one; another token of
        the family revokes it and emits reuse_detected.
        """
        token = parse(raw)
        if token is None:
            metrics.REFRESHES.labels(metrics.refresh_result(None)).inc()
            raise TesseraError("refresh_token_invalid")
        chain = successors(token, self._refresh_key, GRACE_ROTATIONS)
        rotated = await self._families.rotate(
            user_id=token.user_id,
            family_id=token.family_id,
            presented=token.digest,
            successors=[t.digest for t in chain],
            device=client.device_id,
            app=client.app_id,
            ip=client.ip,
            user_agent=client.user_agent,
        )
        metrics.REFRESHES.labels(metrics.refresh_result(rotated.outcome)).inc()
        if rotated.outcome is Rotation.REUSE:
            metrics.REUSE_DETECTED.inc()
            await self._events.reuse_detected(
                user_id=token.user_id,
                family_id=token.family_id,
                device_id=rotated.device_id,
                app_id=client.app_id,
                ip=client.ip,
            )
        if not rotated.outcome.succeeded:
            raise TesseraError("refresh_token_invalid")
        bound = msgspec.structs.replace(client, device_id=rotated.device_id)
        answer = chain[rotated.steps - 1]  # the new token, or for a straggler the current one
        return self._tokens(token.user_id, token.family_id, rotated.amr, bound, str(answer))

    async def logout(self, claims: AccessClaims) -> None:
        await self._families.delete(claims.sub, claims.sid)

    async def logout_all(self, user_id: str) -> int:
        return await self.revoke(user_id, None)

    async def revoke(
        self, user_id: str, keep_session: str | None, credential_version: int | None = None
    ) -> int:
        """End every session of the user but `keep_session` (identity, after a password
        change or reset); how many ended. Their access tokens stop working at once.

        With the new password's `credential_version`, sign-ins checked against an older
        password do not start a session after this either (the floor is raised first: see
        `CredentialFloor`). The open MFA challenges end before the families: a password that
        was good before this cannot turn into a session after it (a challenge completing
        meanwhile makes its family before the families end, in one script; see `_complete`)."""
        if credential_version is not None and self._floor is not None:
            await self._floor.raise_to(user_id, credential_version)
        await self._challenges.close_all(user_id)
        return await self._families.delete_all(user_id, keep=keep_session)

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
