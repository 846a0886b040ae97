"""Whether a token's session is still alive: RFC 7662 introspection, cached for a few seconds.

`POST introspection_url` with the body `token=<jwt>` (`application/x-www-form-urlencoded`),
authenticated with `X-API-Key: <api_key>` or HTTP Basic `client_id:client_secret` (each part
form-urlencoded first, RFC 6749 §2.3.1). The answer `{"active": true, ...}` keeps the token;
`{"active": false}` refuses it as `revoked`. Each answer is kept `session_cache_s` seconds per
token (by its signature), so a session ended elsewhere is refused within that time. The endpoint
unreachable, or answering anything else (another status, not JSON, no boolean `active`), raises
`VerificationError("unavailable")`: fail closed, the token is not accepted.
"""

import asyncio
import base64
import logging
import threading
from collections.abc import Callable
from urllib.parse import quote, urlencode

from tessera_verify import _http
from tessera_verify.errors import VerificationError

log = logging.getLogger("tessera_verify")

MAX_CACHED = 10_000
"""Answers kept at most; the oldest go first once expired ones are gone."""


def auth_headers(
    *, api_key: str | None, client_id: str | None, client_secret: str | None
) -> dict[str, str]:
    """The credentials of the introspection call: exactly one kind must be given."""
    basic = client_id is not None or client_secret is not None
    if (api_key is None) == (not basic):
        raise ValueError("check_session needs api_key, or client_id with client_secret")
    if api_key is not None:
        return {"X-API-Key": api_key}
    if not client_id or not client_secret:
        raise ValueError("check_session needs both client_id and client_secret")
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii")}


class _Answers:
    """Introspection answers by token signature, each until its time runs out."""

    __slots__ = ("_answers", "_clock", "_keep_s", "_lock")

    def __init__(self, keep_s: float, clock: Callable[[], float]) -> None:
        self._answers: dict[bytes, tuple[float, bool]] = {}
        self._keep_s = keep_s
        self._clock = clock
        self._lock = threading.Lock()

    def get(self, key: bytes) -> bool | None:
        found = self._answers.get(key)
        if found is None or found[0] <= self._clock():
            return None
        return found[1]

    def put(self, key: bytes, active: bool) -> None:
        if self._keep_s <= 0:
            return
        now = self._clock()
        with self._lock:
            answers = self._answers
            if len(answers) >= MAX_CACHED:
                for stale in [k for k, (until, _) in answers.items() if until <= now]:
                    del answers[stale]
                while len(answers) >= MAX_CACHED:
                    del answers[next(iter(answers))]
            answers.pop(key, None)  # re-inserted last: the dict stays in order of expiry
            answers[key] = (now + self._keep_s, active)


class _Introspection:
    __slots__ = ("_answers", "_headers", "_timeout_s", "_url")

    def __init__(
        self,
        url: str | None,
        headers: dict[str, str],
        timeout_s: float,
        keep_s: float,
        clock: Callable[[], float],
    ) -> None:
        if url is None:
            raise ValueError("check_session needs introspection_url")
        self._url = _http.check_url(url, "introspection_url")
        self._headers = headers
        self._timeout_s = timeout_s
        self._answers = _Answers(keep_s, clock)

    def ask(self, token: str) -> bool:
        """Whether the endpoint says `token` is active; raises `unavailable` when unsure."""
        form = urlencode({"token": token}).encode("ascii")
        try:
            answer = _http.post_form(self._url, form, self._headers, self._timeout_s)
        except _http.FetchError as exc:
            log.warning("introspection endpoint cannot be asked: %s", exc)
            raise VerificationError("unavailable", "the session cannot be checked") from None
        active = answer.get("active") if type(answer) is dict else None
        if type(active) is not bool:
            log.warning("introspection endpoint answered without a boolean `active`")
            raise VerificationError("unavailable", "the session cannot be checked")
        return active


class SessionCheck(_Introspection):
    """Blocking introspection with a per-token cache, for `Verifier`."""

    __slots__ = ()

    def check(self, token: str, signature: bytes) -> None:
        """Raises `revoked` for an inactive token, `unavailable` when the endpoint is down."""
        active = self._answers.get(signature)
        if active is None:
            active = self.ask(token)
            self._answers.put(signature, active)
        if not active:
            raise VerificationError("revoked", "the session has ended")


class AsyncSessionCheck(_Introspection):
    """As `SessionCheck`, the call in `asyncio.to_thread`, for `AsyncVerifier`."""

    __slots__ = ()

    async def check(self, token: str, signature: bytes) -> None:
        active = self._answers.get(signature)
        if active is None:
            active = await asyncio.to_thread(self.ask, token)
            self._answers.put(signature, active)
        if not active:
            raise VerificationError("revoked", "the session has ended")
