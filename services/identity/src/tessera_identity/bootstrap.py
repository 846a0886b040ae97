"""Composition root: pools, clients, adapters and flows, built and closed in the lifespan."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from nats.js import JetStreamContext
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from tessera_identity.adapters.argon2_hasher import Argon2Hasher
from tessera_identity.adapters.db_gate import DatabaseGate
from tessera_identity.adapters.outbox_relay import OutboxRelay
from tessera_identity.adapters.postgres import make_gate, make_pool, ping
from tessera_identity.adapters.session_client import SessionClient
from tessera_identity.adapters.sql_account_view import SqlAccountViews
from tessera_identity.adapters.sql_admin import SqlAdminReads
from tessera_identity.adapters.sql_uow import SqlUnitOfWork
from tessera_identity.clock import SystemClock
from tessera_identity.config import IdentitySettings
from tessera_identity.domain.code_policy import CodePolicy
from tessera_identity.domain.guesses import GuessPolicy
from tessera_identity.domain.lockout import LockoutPolicy
from tessera_identity.domain.passwords import PasswordPolicy, load_common_passwords
from tessera_identity.domain.secret_box import SecretBox
from tessera_identity.flows.admin.erasure import Erasure
from tessera_identity.flows.admin.service import Admin
from tessera_identity.flows.codes.service import Codes
from tessera_identity.flows.credentials.service import Credentials
from tessera_identity.flows.email_change.service import EmailChange
from tessera_identity.flows.login.codes import LoginCodes
from tessera_identity.flows.login.service import Login
from tessera_identity.flows.mfa.factors import Verifier
from tessera_identity.flows.mfa.service import Mfa
from tessera_identity.flows.own_data.service import OwnData
from tessera_identity.flows.password.service import Passwords
from tessera_identity.flows.profile.service import Profiles
from tessera_identity.flows.registration.service import Registration
from tessera_identity.flows.totp.service import Totp
from tessera_identity.ports import SessionDirectory
from tessera_shared.contracts.streams import ensure_stream
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks
from tessera_shared.http.internal import from_state
from tessera_shared.nats import NatsConnection
from tessera_shared.shutdown import within
from tessera_shared.tokens import AccessTokenVerifier, JwksCache

Pool = AsyncConnectionPool[AsyncConnection[Any]]
log = logging.getLogger("tessera.identity.argon2")


def build_flows(
    settings: IdentitySettings,
    pool: DatabaseGate,
    hasher: Argon2Hasher,
    sessions: SessionDirectory,
) -> dict[str, Any]:
    """Every use case, wired to the real adapters."""
    clock = SystemClock()
    key = settings.otp_hmac_key.encode()
    codes = Codes(
        CodePolicy(
            ttl_s=settings.otp_ttl_s,
            max_attempts=settings.otp_max_attempts,
            cooldown_s=settings.resend_cooldown_s,
            per_recipient_per_hour=settings.codes_per_recipient_per_hour,
            per_ip_per_hour=settings.codes_per_ip_per_hour,
        ),
        key,
        settings.otp_key_id,
        settings.stream,
    )
    common = load_common_passwords(
        Path(settings.common_passwords_file) if settings.common_passwords_file else None
    )
    password_policy = PasswordPolicy(common=common)

    def uow() -> SqlUnitOfWork:
        return SqlUnitOfWork(pool)

    lockout = LockoutPolicy(
        ip_failures=settings.lockout_ip_failures,
        account_failures=settings.lockout_account_failures,
        window_s=settings.lockout_window_s,
        base_s=settings.lockout_base_s,
        max_s=settings.lockout_max_s,
        slot_wait_s=settings.lockout_slot_wait_s,
    )
    box = SecretBox.from_config(settings.totp_keys)
    verifier = Verifier(
        codes, box, GuessPolicy(failures=settings.mfa_failures, window_s=settings.mfa_window_s)
    )
    passwords = Passwords(uow, hasher, password_policy, lockout, codes, sessions, clock, key)
    views, reads = SqlAccountViews(pool), SqlAdminReads(pool)
    erasure = Erasure(sessions, codes, key)
    return {
        "registration": Registration(uow, hasher, password_policy, codes, clock),
        "login": Login(uow, hasher, lockout, codes, clock, key),
        "login_codes": LoginCodes(uow, codes, clock),
        "credentials": Credentials(uow, codes, clock, key),
        "mfa": Mfa(uow, views, codes, verifier, clock, key),
        "totp": Totp(uow, box, verifier, clock, settings.totp_issuer, key),
        "email_change": EmailChange(uow, codes, clock),
        "passwords": passwords,
        "profiles": Profiles(uow),
        "admin": Admin(uow, reads, views, sessions, codes, hasher, password_policy, clock, key),
        "own_data": OwnData(uow, views, reads, sessions, passwords, verifier, erasure, clock),
    }


def lifespan(
    settings: IdentitySettings, health: HealthChecks, jwks: JwksCache | None = None
) -> Lifespan:
    """`jwks`: the keys verifying bearer tokens; by default fetched from the session service."""

    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        pool = make_pool(settings)
        # wait=False: start even while PostgreSQL is down; readiness says so until it is back.
        await pool.open(wait=False)
        gate = make_gate(settings, pool)
        hasher = Argon2Hasher(
            memory_kib=settings.argon2_memory_kib,
            time_cost=settings.argon2_time_cost,
            parallelism=settings.argon2_parallelism,
            workers=settings.argon2_workers,
            max_wait_s=settings.argon2_max_wait_s,
        )
        await hasher.warm()
        # Before serving, so the measure takes no hashing thread from a request (a few hashes).
        log.info(hasher.describe(await hasher.bound()))

        async def declare(js: JetStreamContext) -> None:
            await ensure_stream(js, settings.stream)

        nats = NatsConnection(settings.nats_url, "tessera-identity", declare)
        nats.start()
        relay = OutboxRelay(settings.database_url, pool, nats)
        relay.start()
        health.add("postgres", lambda: ping(gate))
        # Events wait in the outbox while NATS is away: sign-in and registration keep working.
        health.add("nats", nats.check, required=False)
        app.state.internal_token = settings.internal_token
        keys = jwks or JwksCache(settings.session_jwks_url)
        app.state.tokens = AccessTokenVerifier(keys, settings.token_issuer, settings.token_audience)
        sessions = SessionClient(
            settings.session_url, settings.internal_token, settings.session_timeout_s
        )
        for name, flow in build_flows(settings, gate, hasher, sessions).items():
            app.state[name] = flow
        try:
            yield
        finally:
            await within("jwks", keys.aclose())
            await within("session client", sessions.close())
            await within("outbox relay", relay.stop())
            await within("nats", nats.close())
            hasher.close()
            await within("database gate", gate.aclose())
            await within("database pool", pool.close(timeout=3))

    return run


FLOWS = (
    "registration",
    "login",
    "login_codes",
    "credentials",
    "mfa",
    "totp",
    "email_change",
    "passwords",
    "profiles",
    "admin",
    "own_data",
)
DEPENDENCIES = {name: from_state(name) for name in (*FLOWS, "tokens")}
