"""`Verifier` and `AsyncVerifier`: the same checks, blocking or awaitable.

A token passes when it is a compact JWS signed with Ed25519 by a key of the JWKS (by `kid`),
of type `at+jwt`, for this issuer and audience, within its lifetime (± `leeway_s`), with every
access-token claim present and well typed; and, with `check_session=True`, when the
introspection endpoint says its session is still active. Anything else raises
`VerificationError` with a `reason` (see `tessera_verify.errors.REASONS`).
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any, TypeVar, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tessera_verify.core import ACCESS_TYPE, check_claims, checked_kid, split, verified_claims
from tessera_verify.errors import VerificationError
from tessera_verify.keys import AsyncKeySet, KeySet
from tessera_verify.session import AsyncSessionCheck, SessionCheck, auth_headers


@dataclass(frozen=True, slots=True)
class Claims:
    """The claims of a verified access token. `raw`: every claim as decoded, unknown ones too."""

    sub: str
    """The user id."""
    sid: str
    """The session (refresh family) id."""
    exp: int
    iat: int
    iss: str
    aud: str
    amr: tuple[str, ...]
    """Methods used to sign in: `pwd`, `otp`, `totp`, `recovery` (more may come)."""
    jti: str
    did: str
    """The device id the session was created for."""
    aid: str
    """The app id the session was created for."""
    nbf: int | None = None
    client_id: str | None = None
    """The OAuth client the token was issued to, when the token names one."""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


S = TypeVar("S", KeySet, AsyncKeySet)

# `Claims` is frozen, so its __init__ sets each of its 13 fields through object.__setattr__: a
# profile showed that at ~3 µs a token, more than all the claim checks. Built instead as this
# twin (same slots, same order, not frozen) and then made a `Claims` by `__class__` assignment,
# which CPython allows between classes of the same layout: 0.4 µs. Nothing else sees the twin.
_Unfrozen = make_dataclass("_Unfrozen", [(f.name, f.type) for f in fields(Claims)], slots=True)


def access_claims(raw: dict[str, Any]) -> Claims:
    """`Claims` of a checked claims object; raises `malformed` when one is missing or mistyped.

    `check_claims` made sure of `iss` and `aud` (strings equal to ours), `exp`, `iat`, `nbf`.
    """
    get = raw.get
    sub, sid, jti, did, aid = get("sub"), get("sid"), get("jti"), get("did"), get("aid")
    amr, client_id = get("amr"), get("client_id")
    if (
        type(sub) is not str
        or type(sid) is not str
        or type(jti) is not str
        or type(did) is not str
        or type(aid) is not str
        or type(amr) is not list
        or (client_id is not None and type(client_id) is not str)
    ):
        raise VerificationError("malformed", "claims: a required claim is missing or mistyped")
    for method in amr:
        if type(method) is not str:
            raise VerificationError("malformed", "claims: amr must be a list of strings")
    claims = _Unfrozen(
        sub, sid, raw["exp"], raw["iat"], raw["iss"], raw["aud"], tuple(amr), jti, did, aid,
        get("nbf"), client_id, raw,
    )  # fmt: skip
    claims.__class__ = Claims
    return cast(Claims, claims)


class _Settings:
    """What both verifiers check against, and the session check's credentials."""

    def __init__(
        self,
        issuer: str,
        audience: str,
        leeway_s: float,
        check_session: bool,
        introspection_url: str | None,
        client_id: str | None,
        client_secret: str | None,
        api_key: str | None,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("issuer and audience are required")
        if leeway_s < 0:
            raise ValueError("leeway_s must not be negative")
        self.issuer = issuer
        self.audience = audience
        self.leeway_s = leeway_s
        self.headers = (
            auth_headers(api_key=api_key, client_id=client_id, client_secret=client_secret)
            if check_session
            else None
        )
        self.introspection_url = introspection_url


class Verifier:
    """Verifies Tessera access tokens, blocking (for WSGI apps, workers, scripts).

    `jwks_url`: the session service's `/.well-known/jwks.json` (through the gateway or direct);
    or `keys`: fixed Ed25519 public keys by kid, never fetched. `check_session=True` also asks
    `introspection_url` (see `tessera_verify.session`) with `api_key`, or `client_id` and
    `client_secret`, keeping each answer `session_cache_s`. JWKS caching: see
    `tessera_verify.keys`. `clock` (monotonic) and `now` (epoch seconds) are for tests.
    Thread-safe.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        keys: Mapping[str, Ed25519PublicKey] | None = None,
        leeway_s: float = 10.0,
        check_session: bool = False,
        introspection_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        session_cache_s: float = 5.0,
        timeout_s: float = 2.0,
        min_refresh_s: float = 30.0,
        retry_failed_s: float = 1.0,
        jwks_default_age_s: float = 300.0,
        jwks_min_age_s: float = 60.0,
        jwks_max_age_s: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        settings = _Settings(
            issuer,
            audience,
            leeway_s,
            check_session,
            introspection_url,
            client_id,
            client_secret,
            api_key,
        )
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._now = now
        self._keys = _key_set(
            KeySet,
            jwks_url,
            keys,
            timeout_s=timeout_s,
            min_refresh_s=min_refresh_s,
            retry_failed_s=retry_failed_s,
            default_age_s=jwks_default_age_s,
            min_age_s=jwks_min_age_s,
            max_age_s=jwks_max_age_s,
            clock=clock,
        )
        self._session = (
            None
            if settings.headers is None
            else SessionCheck(
                introspection_url, settings.headers, timeout_s, session_cache_s, clock
            )
        )

    def verify(self, token: str) -> Claims:
        """The claims of a valid access token; raises `VerificationError`."""
        compact = split(token)
        key = self._keys.key(checked_kid(compact.header, ACCESS_TYPE))
        if key is None:
            raise VerificationError("unknown_key", "no key with this kid")
        raw = verified_claims(compact, key)
        check_claims(
            raw,
            issuer=self._issuer,
            audience=self._audience,
            leeway_s=self._leeway_s,
            now=self._now(),
        )
        claims = access_claims(raw)
        if self._session is not None:
            self._session.check(token, compact.signature)
        return claims


class AsyncVerifier:
    """As `Verifier`, for asyncio apps: `await verifier.verify(token)`.

    Verifying a token whose key is cached never leaves the event loop; the rare JWKS fetches and
    the introspection calls run in `asyncio.to_thread`.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        keys: Mapping[str, Ed25519PublicKey] | None = None,
        leeway_s: float = 10.0,
        check_session: bool = False,
        introspection_url: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_key: str | None = None,
        session_cache_s: float = 5.0,
        timeout_s: float = 2.0,
        min_refresh_s: float = 30.0,
        retry_failed_s: float = 1.0,
        jwks_default_age_s: float = 300.0,
        jwks_min_age_s: float = 60.0,
        jwks_max_age_s: float = 86_400.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], float] = time.time,
    ) -> None:
        settings = _Settings(
            issuer,
            audience,
            leeway_s,
            check_session,
            introspection_url,
            client_id,
            client_secret,
            api_key,
        )
        self._issuer = issuer
        self._audience = audience
        self._leeway_s = leeway_s
        self._now = now
        self._keys = _key_set(
            AsyncKeySet,
            jwks_url,
            keys,
            timeout_s=timeout_s,
            min_refresh_s=min_refresh_s,
            retry_failed_s=retry_failed_s,
            default_age_s=jwks_default_age_s,
            min_age_s=jwks_min_age_s,
            max_age_s=jwks_max_age_s,
            clock=clock,
        )
        self._session = (
            None
            if settings.headers is None
            else AsyncSessionCheck(
                introspection_url, settings.headers, timeout_s, session_cache_s, clock
            )
        )

    async def verify(self, token: str) -> Claims:
        """The claims of a valid access token; raises `VerificationError`."""
        compact = split(token)
        kid = checked_kid(compact.header, ACCESS_TYPE)
        key = self._keys.fresh(kid) or await self._keys.key(kid)
        if key is None:
            raise VerificationError("unknown_key", "no key with this kid")
        raw = verified_claims(compact, key)
        check_claims(
            raw,
            issuer=self._issuer,
            audience=self._audience,
            leeway_s=self._leeway_s,
            now=self._now(),
        )
        claims = access_claims(raw)
        if self._session is not None:
            await self._session.check(token, compact.signature)
        return claims


def _key_set(
    kind: type[S],
    url: str | None,
    keys: Mapping[str, Ed25519PublicKey] | None,
    **options: Any,
) -> S:
    if (url is None) == (keys is None):
        raise ValueError("give jwks_url, or keys (fixed, never fetched), not both")
    return kind.from_keys(keys) if keys is not None else kind(url, **options)
