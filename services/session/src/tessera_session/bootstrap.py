"""Composition root: keys, Redis, identity client, NATS; built and closed in the lifespan."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from litestar import Litestar
from nats.js import JetStreamContext

from tessera_session.adapters.challenges import RedisChallenges
from tessera_session.adapters.credential_floor import RedisCredentialFloor
from tessera_session.adapters.events import NatsSessionEvents, ensure_session_stream
from tessera_session.adapters.families import RedisFamilies
from tessera_session.adapters.identity_client import IdentityClient
from tessera_session.adapters.keys import KeyRing, generate, load_folder, load_pem
from tessera_session.adapters.tokens import TokenIssuer
from tessera_session.config import SessionSettings
from tessera_session.ports import Identity, SessionEvents
from tessera_session.service.refresh import Refresh
from tessera_session.service.second_factor import SecondFactorSignIn
from tessera_session.service.sessions import Sessions
from tessera_session.service.sign_in import SignIn
from tessera_session.service.start import SessionStarter
from tessera_shared.config import ConfigError
from tessera_shared.http.app import Lifespan
from tessera_shared.http.health import HealthChecks
from tessera_shared.http.internal import from_state
from tessera_shared.nats import NatsConnection
from tessera_shared.redis import RedisClient, make_redis, ping
from tessera_shared.shutdown import within
from tessera_shared.tokens.verifier import AccessTokenVerifier

log = logging.getLogger("tessera.session.keys")


def load_keys(settings: SessionSettings) -> KeyRing:
    """The PEM from config, else the folder; a development run with none generates one."""
    if settings.signing_key_pem:
        return KeyRing([load_pem(settings.signing_key_pem.encode())])
    folder = Path(settings.signing_keys_dir)
    keys = load_folder(folder) if folder.is_dir() else []
    if not keys:
        if settings.environment == "production":
            raise ConfigError(
                "no signing key: set TESSERA_SESSION_SIGNING_KEY_PEM or put a key in "
                "TESSERA_SESSION_SIGNING_KEYS_DIR (python -m tessera_session keys rotate)"
            )
        keys = [generate(folder)]
    return KeyRing(keys, delay_s=settings.signing_key_delay_s)


async def reload_keys_forever(settings: SessionSettings, keys: KeyRing) -> None:
    """Re-reads the key folder every `SIGNING_KEYS_RELOAD_S`: a rotated key is published at
    once (and signs after the delay), a deleted one leaves the JWKS, with no restart. A folder
    that cannot be read, or holds no key, changes nothing."""
    folder = Path(settings.signing_keys_dir)
    while True:
        await asyncio.sleep(settings.signing_keys_reload_s)
        try:
            found = await asyncio.to_thread(load_folder, folder)
        except (OSError, ValueError) as exc:
            log.warning("signing keys not reloaded: %s", type(exc).__name__)
            continue
        if found and [k.kid for k in found] != [k.kid for k in keys.keys]:
            keys.replace(found)
            log.info("signing keys reloaded: %d keys, newest %s", len(found), found[-1].kid)


def own_verifier(keys: KeyRing, settings: SessionSettings) -> AccessTokenVerifier:
    """The shared verifier, over this service's own public keys (no JWKS fetch)."""
    return AccessTokenVerifier(keys.verification_keys, settings.issuer, settings.audience)


def build_services(
    settings: SessionSettings,
    keys: KeyRing,
    redis: RedisClient,
    identity: Identity,
    events: SessionEvents,
) -> dict[str, Any]:
    """Every use case, wired to the real adapters (by their name in `app.state`)."""
    prefix = settings.redis_key_prefix
    families = RedisFamilies(
        redis,
        prefix,
        sliding_s=settings.refresh_ttl_s,
        absolute_s=settings.refresh_absolute_ttl_s,
        grace_s=settings.refresh_grace_s,
        max_per_user=settings.max_sessions_per_user,
    )
    challenges = RedisChallenges(redis, prefix)
    floor = RedisCredentialFloor(redis, prefix)
    signer = TokenIssuer(keys, settings.issuer, settings.audience)
    verifier = own_verifier(keys, settings)
    starter = SessionStarter(families, signer, access_ttl_s=settings.access_ttl_s)
    return {
        "sign_in": SignIn(
            starter,
            families,
            challenges,
            floor,
            identity,
            signer,
            challenge_ttl_s=settings.challenge_ttl_s,
            require_totp=settings.require_totp,
        ),
        "second_factor": SecondFactorSignIn(starter, challenges, verifier, identity),
        "refresh": Refresh(starter, families, events, refresh_key=settings.refresh_key.encode()),
        "sessions": Sessions(families, challenges, floor, verifier),
    }


def lifespan(settings: SessionSettings, health: HealthChecks, keys: KeyRing) -> Lifespan:
    @asynccontextmanager
    async def run(app: Litestar) -> AsyncIterator[None]:
        redis = make_redis(
            settings.redis_url,
            pool_size=settings.redis_pool_size,
            pool_timeout_s=settings.redis_pool_timeout_s,
        )
        identity = IdentityClient(
            settings.identity_url, settings.internal_token, settings.identity_timeout_s
        )

        async def declare(js: JetStreamContext) -> None:
            await ensure_session_stream(
                js, settings.stream_name, settings.subject_prefix, settings.stream_replicas
            )

        nats = NatsConnection(settings.nats_url, "tessera-session", declare)
        nats.start()
        events = NatsSessionEvents(nats, settings.subject_prefix)
        for name, service in build_services(settings, keys, redis, identity, events).items():
            app.state[name] = service
        health.add("redis", lambda: ping(redis))
        reload = None
        if not settings.signing_key_pem and settings.signing_keys_reload_s > 0:
            reload = asyncio.create_task(reload_keys_forever(settings, keys), name="key-reload")
        try:
            yield
        finally:
            if reload is not None:
                reload.cancel()
            await within("nats", nats.close())
            await within("identity client", identity.close())
            await within("redis", redis.aclose())

    return run


SERVICES = ("sign_in", "second_factor", "refresh", "sessions")
DEPENDENCIES = {name: from_state(name) for name in (*SERVICES, "settings", "keys")}
