"""Signing in with a password: a full session, or an MFA challenge and (for email and SMS) a
login code. Counted in `tessera_logins` by outcome."""

from dataclasses import KW_ONLY, dataclass

import msgspec

from tessera_session import metrics
from tessera_session.domain.challenge import MfaMode, mfa_step
from tessera_session.domain.client import Client
from tessera_session.ports import Challenges, CredentialFloor, Families, Identity, Signer
from tessera_session.service.start import SessionStarter, Tokens
from tessera_shared.contracts.internal import CodeRequest, PasswordCheck
from tessera_shared.errors import Code, TesseraError


class MfaRequired(msgspec.Struct, frozen=True, kw_only=True):
    mfa_mode: MfaMode
    challenge_token: str
    user_id: str
    totp_setup_required: bool = False


@dataclass(frozen=True, slots=True)
class SignIn:
    starter: SessionStarter
    families: Families
    challenges: Challenges
    floor: CredentialFloor
    identity: Identity
    signer: Signer
    _: KW_ONLY
    challenge_ttl_s: int
    require_totp: bool = False

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
        account = await self.identity.verify_password(
            PasswordCheck(
                username=username,
                password=password,
                client_ip=client.ip,
                user_agent=client.user_agent,
            )
        )
        user_id = str(account.user_id)
        step = mfa_step(account.mfa_mode, require_totp=self.require_totp)
        if step is None:
            tokens = await self.starter.start(user_id, ["pwd"], client)
            await self._refuse_if_reset(user_id, account.credential_version, tokens)
            return tokens
        challenge, claims = self.signer.challenge(
            user_id=user_id,
            device=client.device_id,
            app=client.app_id,
            mfa_mode=step.mfa_mode,
            ttl_s=self.challenge_ttl_s,
        )
        # The state first: a code must never be sent for a challenge that cannot be completed.
        await self.challenges.open(user_id, claims.cid, self.challenge_ttl_s)
        await self._refuse_if_reset(user_id, account.credential_version)
        if step.mfa_mode in ("email", "sms"):
            await self.identity.send_code(CodeRequest(user_id=account.user_id, client_ip=client.ip))
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
        handed out). Read after the session or challenge was stored: see
        `adapters/credential_floor.py`."""
        if await self.floor.admits(user_id, credential_version):
            return
        if tokens is not None:
            await self.families.delete(user_id, tokens.session_id)
        raise TesseraError(Code.INVALID_CREDENTIALS)
