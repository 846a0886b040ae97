"""The MFA challenge of a sign-in and its second factor (a code, or a recovery code) become a
full session (`domain/challenge.py`). Counted in `tessera_mfa_verifications`."""

from dataclasses import dataclass
from uuid import UUID

import msgspec

from tessera_session import metrics
from tessera_session.domain.challenge import ChallengeState, Factor, factor_of, spends_attempt
from tessera_session.domain.client import Client
from tessera_session.ports import Challenges, Identity, TokenVerifier
from tessera_session.service.start import SessionStarter, Tokens
from tessera_shared.contracts.internal import CodeCheck, RecoveryCodeUse, TotpCheck
from tessera_shared.contracts.tokens import ChallengeClaims
from tessera_shared.errors import Code, TesseraError


@dataclass(frozen=True, slots=True)
class SecondFactorSignIn:
    starter: SessionStarter
    challenges: Challenges
    verifier: TokenVerifier
    identity: Identity

    async def verify(
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
        """As `verify` with a recovery code, which also turns the account's MFA off (the
        person lost their factor); the session's amr is ["pwd", "recovery"]."""
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
        if await self.challenges.reserve(claims.sub, claims.cid) is not ChallengeState.OPEN:
            raise TesseraError(Code.CHALLENGE_INVALID)
        try:
            await self._check(factor, UUID(claims.sub), code, client, disable_mfa=disable_mfa)
        except TesseraError as refusal:
            if spends_attempt(refusal.code):
                await self.challenges.wrong(claims.sub, claims.cid)
            else:
                await self.challenges.release(claims.sub, claims.cid)
            raise
        # The session is for the device the challenge was issued to (equal to the caller's
        # X-Device-ID when one was sent; the only source when none was).
        bound = msgspec.structs.replace(client, device_id=claims.did)
        # The session is created in the step that deletes the challenge: of two parallel
        # correct codes one gets a session, and once all sessions ended (which closes the
        # challenges first) none can.
        tokens = await self.starter.completing(
            claims.sub, ["pwd", factor.value], bound, challenge=claims.cid
        )
        if tokens is None:
            raise TesseraError(Code.CHALLENGE_INVALID)
        return tokens

    async def _open_challenge(self, token: str, client: Client) -> ChallengeClaims:
        """Claims of a validly signed, unexpired challenge token issued to this device and app.

        An unnamed device ("") stands for the challenge's own; a named one must be it. The app
        always must be the challenge's (a missing X-App-ID is the default app).
        """
        try:
            claims = await self.verifier.verify_challenge(token)
        except TesseraError as refusal:
            if refusal.code != Code.TOKEN_INVALID:
                raise
            raise TesseraError(Code.CHALLENGE_INVALID) from None
        device = client.device_id or claims.did
        if (claims.did, claims.aid) != (device, client.app_id):
            raise TesseraError(Code.CHALLENGE_INVALID)
        return claims

    async def _check(
        self, factor: Factor, user_id: UUID, code: str, client: Client, *, disable_mfa: bool
    ) -> None:
        """Ask identity; raises its refusal (TesseraError) unless the code is right."""
        if factor is Factor.RECOVERY:
            use = RecoveryCodeUse(
                user_id=user_id, code=code, client_ip=client.ip, disable_mfa=disable_mfa
            )
            await self.identity.use_recovery_code(use)
        elif factor is Factor.TOTP:
            await self.identity.verify_totp(TotpCheck(user_id=user_id, otp=code))
        else:
            await self.identity.verify_code(CodeCheck(user_id=user_id, otp=code))
