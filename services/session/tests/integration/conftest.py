"""The session app against real Redis and NATS, with a stand-in for identity's internal API.

The app runs in the test client's own loop (a blocking portal), so tests drive it over HTTP
only and read Redis with a separate, plain client. The stand-in identity runs on its own
thread and loop, so it keeps answering while the test's loop waits for a request.
"""

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any, Literal

import httpx
import jwt
import msgspec
import nats
import pytest
import redis
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient
from nats.js.api import ConsumerConfig, DeliverPolicy

from tessera_session.app import create_app
from tessera_session.config import SessionSettings
from tessera_shared.nats import parse_servers
from tessera_shared.testing.threaded_server import ThreadedServer

INTERNAL_TOKEN = "internal-test-token"
PASSWORD = "securePassword123!"
LOCKED_RETRY_AFTER = "120"
USERNAME = "jane.smith@example.com"
INTERNAL = {"x-internal-token": INTERNAL_TOKEN}
LOGIN_CODE = "246810"
"""The email/SMS login code the stand-in accepts (unless `login_codes` says otherwise)."""
TOTP_CODE = "135791"
"""The authenticator code the stand-in accepts, once per user (its time step is then used)."""


class Call(msgspec.Struct, frozen=True):
    path: str
    headers: dict[str, str]
    """Lower-case names."""
    body: dict[str, Any]


class StandInIdentity(ThreadedServer):
    """Identity's internal API on a thread of its own: password, login codes, TOTP, recovery.

    `mode`: "ok" answers normally, "fail" answers 500, "hang" answers only when stopped.
    `refusal`, when set, is the (status, code) every code check answers instead; `check_delay_s`
    holds each code check that long, so parallel requests overlap in the session service.
    """

    def __init__(self) -> None:
        super().__init__()
        self.mode: Literal["ok", "fail", "hang"] = "ok"
        self.refusal: tuple[int, str] | None = None
        self.check_delay_s = 0.0
        self.password_delay_s = 0.0
        """Holds each password answer that long after checking it (a reset can come between)."""
        self.calls: list[Call] = []
        self.login_codes: dict[str, str] = {}
        """Login code per user id; LOGIN_CODE for users not listed."""
        self._accounts: dict[str, dict[str, Any]] = {}
        self._locked: set[str] = set()
        self._totp_used: set[str] = set()
        self._recovery: dict[str, set[str]] = {}
        self.mfa_turned_off: list[str] = []
        """User ids whose MFA a recovery code with `disable_mfa` turned off, in order."""
        self._released = asyncio.Event()

    def add_user(self, username: str, mfa_mode: str = "none") -> str:
        """An active account signing in with PASSWORD; its user id."""
        user_id = str(uuid.uuid4())
        self._accounts[username] = {
            "user_id": user_id,
            "status": "active",
            "mfa_mode": mfa_mode,
            "locale": "en",
        }
        return user_id

    def set_mfa_mode(self, username: str, mfa_mode: str) -> None:
        """The account's second factor from now on (its next sign-in gets a challenge)."""
        self._accounts[username]["mfa_mode"] = mfa_mode

    def set_credential_version(self, username: str, version: int) -> None:
        """As after a password reset: identity answers this version from now on."""
        self._accounts[username]["credential_version"] = version

    def lock(self, username: str) -> None:
        self._locked.add(username)

    def give_recovery_codes(self, user_id: str, *codes: str) -> None:
        """Recovery codes of the user; each is accepted once."""
        self._recovery.setdefault(user_id, set()).update(codes)

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == path]

    def before_stop(self) -> None:
        self.loop.call_soon_threadsafe(self._released.set)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/internal/v1/password/verify", self._verify_password)
        app.router.add_post("/internal/v1/codes/send", self._send_code)
        app.router.add_post("/internal/v1/codes/verify", self._verify_code)
        app.router.add_post("/internal/v1/totp/verify", self._verify_totp)
        app.router.add_post("/internal/v1/recovery-codes/use", self._use_recovery_code)

    async def _received(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        body: dict[str, Any] = await request.json()
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.calls.append(Call(request.path, headers, body))
        if self.mode == "hang":
            await self._released.wait()
        if self.mode == "fail":
            return body, web.json_response({"oops": True}, status=500)
        if request.headers.get("x-internal-token") != INTERNAL_TOKEN:
            return body, _error(401, "unauthorized")
        return body, None

    async def _verify_password(self, request: web.Request) -> web.Response:
        body, refused = await self._received(request)
        if refused is not None:
            return refused
        username = body["username"]
        if username in self._locked:
            return _error(423, "account_locked", {"retry-after": LOCKED_RETRY_AFTER})
        account = self._accounts.get(username)
        if account is None or body["password"] != PASSWORD:
            return _error(401, "invalid_credentials")
        answer = dict(account)  # as checked now, whatever happens while it is held
        await asyncio.sleep(self.password_delay_s)
        return web.json_response(answer)

    async def _send_code(self, request: web.Request) -> web.Response:
        _, refused = await self._received(request)
        if refused is not None:
            return refused
        return web.json_response({"channel": "email", "expires_in_s": 600})

    async def _verify_code(self, request: web.Request) -> web.Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        if body["otp"] != self.login_codes.get(body["user_id"], LOGIN_CODE):
            return _error(400, "otp_invalid")
        return _accepted()

    async def _verify_totp(self, request: web.Request) -> web.Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        if body["otp"] != TOTP_CODE:
            return _error(400, "otp_invalid")
        if body["user_id"] in self._totp_used:
            return _error(409, "otp_used")
        self._totp_used.add(body["user_id"])
        return _accepted()

    async def _use_recovery_code(self, request: web.Request) -> web.Response:
        body, refused = await self._checked(request)
        if refused is not None:
            return refused
        unused = self._recovery.get(body["user_id"], set())
        if body["code"] not in unused:
            return _error(400, "recovery_code_invalid")
        unused.remove(body["code"])
        if body.get("disable_mfa", False):
            self.mfa_turned_off.append(body["user_id"])
            for account in self._accounts.values():
                if account["user_id"] == body["user_id"]:
                    account["mfa_mode"] = "none"
        return _accepted()

    async def _checked(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        """Like `_received`, and answers `refusal` when one is set."""
        body, refused = await self._received(request)
        await asyncio.sleep(self.check_delay_s)
        if refused is None and self.refusal is not None:
            refused = _error(*self.refusal)
        return body, refused


def _accepted() -> web.Response:
    return web.json_response({"verified": True})


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"status": status, "code": code, "message": f"stand-in says {code}"}
    return web.json_response(body, status=status, headers=headers)


class Login(msgspec.Struct):
    answer: httpx.Response
    access_token: str
    cookie: str
    """Value of the refresh cookie."""
    user_id: str
    sid: str


class AuthLogin(msgspec.Struct):
    """Tokens of an /auth answer (login, verify-mfa, recover-mfa, refresh)."""

    answer: httpx.Response
    id_token: str
    refresh_token: str
    user_id: str
    sid: str
    device: str
    """The access token's `did`: the X-Device-ID sent, or the one the service assigned."""


class Env(msgspec.Struct):
    client: AsyncTestClient[Any]
    settings: SessionSettings
    identity: StandInIdentity
    reader: redis.Redis
    keys_dir: Path

    # talking to the app

    def cookie_name(self, app: str = "web") -> str:
        return f"tessera_rt_{app}"

    async def authenticate(
        self,
        username: str,
        password: str = PASSWORD,
        device: str | None = "device-1",
        app: str | None = "web",
        **headers: str,
    ) -> httpx.Response:
        sent = dict(headers)
        if device is not None:
            sent["x-device-id"] = device
        if app is not None:
            sent["x-app-id"] = app
        return await self.client.post(
            "/v1/authenticate", json={"username": username, "password": password}, headers=sent
        )

    async def login(
        self, username: str, device: str = "device-1", app: str = "web", **headers: str
    ) -> Login:
        answer = await self.authenticate(username, device=device, app=app, **headers)
        assert answer.status_code == 200, answer.text
        return self.login_of(answer, app)

    def login_of(self, answer: httpx.Response, app: str = "web") -> Login:
        token = answer.json()["access_token"]
        cookie = set_cookie(answer, self.cookie_name(app))
        assert cookie is not None
        user_id, sid, _ = cookie.value.split(".")
        return Login(answer, token, cookie.value, user_id, sid)

    async def refresh(
        self,
        cookie: str | None,
        device: str = "device-1",
        app: str = "web",
        cookie_name: str | None = None,
    ) -> httpx.Response:
        headers = {"x-device-id": device, "x-app-id": app}
        if cookie is not None:
            headers["cookie"] = f"{cookie_name or self.cookie_name(app)}={cookie}"
        return await self.client.post("/v1/refresh-token", headers=headers)

    async def sessions(self, access_token: str) -> httpx.Response:
        return await self.client.get("/v1/sessions", headers=bearer(access_token))

    async def challenge(self, username: str, device: str = "device-1", app: str = "web") -> str:
        """The challenge token of a password sign-in that needs the second factor."""
        answer = await self.authenticate(username, device=device, app=app)
        assert answer.status_code == 200, answer.text
        assert answer.json()["mfa_required"] is True, answer.text
        token: str = answer.json()["challenge_token"]
        return token

    async def verify_2fa(
        self,
        challenge: str | None,
        body: dict[str, Any],
        device: str | None = "device-1",
        app: str | None = "web",
        **headers: str,
    ) -> httpx.Response:
        sent = dict(headers)
        if challenge is not None:
            sent["x-mfa-challenge"] = challenge
        if device is not None:
            sent["x-device-id"] = device
        if app is not None:
            sent["x-app-id"] = app
        return await self.client.post("/v1/verify-2FA", json=body, headers=sent)

    # the /auth surface (camelCase, tokens in the body)

    async def auth(self, path: str, body: Any = None, **headers: str) -> httpx.Response:
        """POST /auth/<path> with `body` as JSON (none when None) and `headers`."""
        sent = {name.replace("_", "-"): value for name, value in headers.items()}
        if body is None:
            return await self.client.post(f"/auth/{path}", headers=sent)
        return await self.client.post(f"/auth/{path}", json=body, headers=sent)

    async def auth_login(self, email: str, password: str = PASSWORD, **headers: str) -> AuthLogin:
        answer = await self.auth("login", {"email": email, "password": password}, **headers)
        assert answer.status_code == 200, answer.text
        return self.auth_login_of(answer)

    def auth_login_of(self, answer: httpx.Response) -> AuthLogin:
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"idToken", "refreshToken"}, body
        claims = claims_of(body["idToken"])
        user_id, sid, _ = body["refreshToken"].split(".")
        assert (claims["sub"], claims["sid"]) == (user_id, sid)
        return AuthLogin(answer, body["idToken"], body["refreshToken"], user_id, sid, claims["did"])

    async def auth_refresh(self, refresh_token: str, **headers: str) -> httpx.Response:
        return await self.auth("login/refresh", {"refreshToken": refresh_token}, **headers)

    async def validate(self, id_token: str) -> httpx.Response:
        return await self.client.get("/auth/validate-session", headers=bearer(id_token))

    # reading Redis

    def family(self, user_id: str, sid: str) -> dict[str, str]:
        key = f"{self.settings.redis_key_prefix}{{u:{user_id}}}:fam:{sid}"
        return self.reader.hgetall(key)

    def family_ttl(self, user_id: str, sid: str) -> int:
        return int(self.reader.ttl(f"{self.settings.redis_key_prefix}{{u:{user_id}}}:fam:{sid}"))

    def challenge_key(self, challenge: str) -> str:
        """The Redis key holding the state of this challenge token."""
        claims = claims_of(challenge)
        return f"{self.settings.redis_key_prefix}{{u:{claims['sub']}}}:mfa:{claims['cid']}"

    def challenge_keys(self, challenge: str) -> list[str]:
        """The keys an open challenge holds: its state and its user's set of open challenges."""
        claims = claims_of(challenge)
        tag = f"{self.settings.redis_key_prefix}{{u:{claims['sub']}}}"
        return sorted([self.challenge_key(challenge), f"{tag}:mfas"])

    def challenge_state(self, challenge: str) -> dict[str, str]:
        """`{wrong, pending}` of an open challenge, `{}` once it is gone."""
        return self.reader.hgetall(self.challenge_key(challenge))

    def keys(self, user_id: str | None = None) -> list[str]:
        """This test's keys (of one user, when given)."""
        pattern = self.settings.redis_key_prefix
        pattern += f"{{u:{user_id}}}*" if user_id else "*"
        return sorted(self.reader.scan_iter(match=pattern.replace("{", "\\{").replace("}", "\\}")))

    def dump(self, user_id: str | None = None) -> str:
        """Every key and value of this test (or one user) as one text, to search for secrets."""
        parts: list[str] = []
        for key in self.keys(user_id):
            kind = self.reader.type(key)
            if kind == "hash":
                value: Any = self.reader.hgetall(key)
            elif kind == "set":
                value = sorted(self.reader.smembers(key))
            else:
                value = self.reader.get(key)
            parts.append(f"{key} {value}")
        return "\n".join(parts)

    # the stream of session events

    async def events(self) -> list[tuple[str, dict[str, Any]]]:
        """(subject, body) of every event in this test's session stream, oldest first."""
        client = await nats.connect(
            servers=parse_servers(self.settings.nats_url), connect_timeout=2
        )
        try:
            js = client.jetstream()
            count = (await js.stream_info(self.settings.stream_name)).state.messages
            if count == 0:
                return []
            subscription = await js.pull_subscribe(
                "",
                stream=self.settings.stream_name,
                config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
            )
            messages = []
            while len(messages) < count:
                messages.extend(await subscription.fetch(count - len(messages), timeout=2))
            await subscription.unsubscribe()
            return [(m.subject, msgspec.json.decode(m.data)) for m in messages]
        finally:
            await client.close()

    async def stream_declared(self, within: float = 10.0) -> None:
        """Wait until the app has connected to NATS and declared its stream."""
        deadline = asyncio.get_running_loop().time() + within
        client = await nats.connect(
            servers=parse_servers(self.settings.nats_url), connect_timeout=2
        )
        try:
            js = client.jetstream()
            while True:
                try:
                    await js.stream_info(self.settings.stream_name)
                    return
                except nats.js.errors.NotFoundError:
                    if asyncio.get_running_loop().time() > deadline:
                        raise
                    await asyncio.sleep(0.05)
        finally:
            await client.close()


def error_of(answer: httpx.Response) -> tuple[int, str]:
    """(status, code) of an error answer."""
    return answer.status_code, answer.json().get("code")


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified."""
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


def signing_key(keys_dir: Path) -> tuple[str, Ed25519PrivateKey]:
    """The newest key the app signs with (kid = file name), read from its folder."""
    path = sorted(keys_dir.glob("*.pem"))[-1]
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(private, Ed25519PrivateKey)
    return path.stem, private


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def set_cookie(answer: httpx.Response, name: str) -> Any:
    """The Morsel of cookie `name` set by this answer, or None."""
    for header in answer.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        if name in jar:
            return jar[name]
    return None


def digest(cookie: str) -> str:
    """What Redis keeps of a refresh cookie: the SHA-256 of its secret."""
    return hashlib.sha256(cookie.split(".")[2].encode()).hexdigest()


@pytest.fixture
def identity() -> Iterator[StandInIdentity]:
    stand_in = StandInIdentity()
    stand_in.start()
    try:
        yield stand_in
    finally:
        stand_in.stop()


@pytest.fixture
def session_settings(
    redis_url: str, nats_url: str, test_id: str, identity: StandInIdentity, tmp_path: Path
) -> Callable[..., SessionSettings]:
    """Settings of this test's app, with `overrides`."""

    def make(**overrides: Any) -> SessionSettings:
        values: dict[str, Any] = {
            "redis_url": redis_url,
            "redis_key_prefix": f"t{test_id}:",
            "identity_url": identity.url,
            "identity_timeout_s": 2.0,
            "internal_token": INTERNAL_TOKEN,
            "signing_keys_dir": str(tmp_path / "keys"),
            "nats_url": nats_url,
            "subject_prefix": f"t{test_id}.",
            "stream_name": f"SES_{test_id}",
            "refresh_key": "test-refresh-key",
            **overrides,
        }
        return SessionSettings(**values)

    return make


StartSession = Callable[..., Awaitable[Env]]


@pytest.fixture
async def start_session(
    session_settings: Callable[..., SessionSettings], identity: StandInIdentity, redis_url: str
) -> AsyncIterator[StartSession]:
    """Starts a session app with settings `overrides`; every app started is stopped at the end."""
    async with AsyncExitStack() as stack:
        reader: redis.Redis = redis.Redis.from_url(redis_url, decode_responses=True)
        stack.callback(reader.close)

        async def start(**overrides: Any) -> Env:
            settings = session_settings(**overrides)
            client = await stack.enter_async_context(AsyncTestClient(create_app(settings)))
            return Env(client, settings, identity, reader, Path(settings.signing_keys_dir))

        yield start


@pytest.fixture
async def session(start_session: StartSession) -> Env:
    return await start_session()
