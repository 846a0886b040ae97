"""What a real browser does with Tessera's cookies, CORS and tokens, against the suite `make run`
starts: where the refresh cookie goes, one cookie and one session per app id, a foreign origin
reading nothing, an access token that really expires, and a sign-out that ends the session at once.
Each test checks what the page sees and what the servers keep (Redis: the refresh families)."""

import asyncio
import base64
import http.server
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import redis

from tessera_shared.devservers import free_port
from tessera_shared.testing.browser import chromium_or_skip

from .conftest import LEEWAY_S, code_for

if TYPE_CHECKING:
    from playwright import async_api

chromium_or_skip()  # the whole module, before its suite starts

PASSWORD = "securePassword123!"
REFRESH_PATH = "/v1/refresh-token"
EVIL = "http://evil.test"
EVIL_PAGE = "<!doctype html><title>Not the app</title><h1>Another origin</h1><pre id=out></pre>"


async def shot(page: "async_api.Page", shots: Path, name: str) -> None:
    await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)


async def register(page: "async_api.Page", suite: SimpleNamespace, address: str) -> str:
    """A new active account, registered and verified through the page's own tessera.js (the
    sign-up clicks are test_web_app's); the page is left on the app. Returns the user id."""
    await page.goto(suite.web_url)
    user_id: str = await page.evaluate(
        """async ([address, password]) => {
            const t = await import('./tessera.js');
            const answer = await t.register({credentialType: 'email', credentialValue: address,
                password, termsAccepted: true, privacyAccepted: true});
            return answer.user_id;
        }""",
        [address, PASSWORD],
    )
    await page.evaluate(
        """async ([userId, otp]) => {
            const t = await import('./tessera.js');
            await t.verify({userId, credentialType: 'email', otp});
        }""",
        [user_id, code_for(suite.inbox_url, address)],
    )
    return user_id


async def sign_in(page: "async_api.Page", address: str) -> dict[str, Any]:
    """Signs in by clicking through the page (app id web-app); the /v1/authenticate answer."""
    await page.get_by_role("link", name="Sign in").click()
    await page.get_by_label("Email or phone").fill(address)
    await page.locator("#signin").get_by_label("Password").fill(PASSWORD)
    async with page.expect_response(
        lambda r: r.url.endswith("/v1/authenticate") and r.request.method == "POST"
    ) as answer:
        await page.get_by_role("button", name="Sign in").click()
    await page.locator("#account").wait_for()
    response = await answer.value
    assert response.status == 200, await response.text()
    session: dict[str, Any] = await response.json()
    return session


def claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unchecked (the servers check it; the test only reads it)."""
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def direct(suite: SimpleNamespace) -> str:
    """The gateway for Python (no browser): 127.0.0.1, where it listens."""
    return str(suite.gateway_url).replace("localhost", "127.0.0.1")


def call(
    suite: SimpleNamespace, method: str, path: str, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    """Status and headers (lower-case names) of one request to the gateway from Python."""
    request = urllib.request.Request(direct(suite) + path, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
            return answer.status, {k.lower(): v for k, v in answer.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}


def me_status(suite: SimpleNamespace, token: str, device: str) -> int:
    """GET /v1/users/me from Python with this access token, as an API client sends it."""
    headers = {"Authorization": f"Bearer {token}", "X-Device-ID": device}
    return call(suite, "GET", "/v1/users/me", headers)[0]


def families(suite: SimpleNamespace, user_id: str) -> dict[str, str]:
    """The user's refresh families in Redis: family id (the token's `sid`) → app id."""
    tag = f"{suite.redis_key_prefix}{{u:{user_id}}}"
    with redis.Redis.from_url(suite.redis_url, decode_responses=True) as r:
        found = {}
        for family in r.smembers(f"{tag}:families"):
            app = r.hget(f"{tag}:fam:{family}", "app_id")
            if app is not None:  # the set may still name a family that ended
                found[family] = app
        return found


def family_state(suite: SimpleNamespace, user_id: str, family: str) -> dict[str, str]:
    """One refresh family's hash in Redis (its current token digest, rotation times…)."""
    tag = f"{suite.redis_key_prefix}{{u:{user_id}}}"
    with redis.Redis.from_url(suite.redis_url, decode_responses=True) as r:
        state: dict[str, str] = r.hgetall(f"{tag}:fam:{family}")
        return state


def cookie_names(header: str) -> list[str]:
    """The names in a Cookie request header, sorted."""
    return sorted(part.split("=", 1)[0].strip() for part in header.split(";") if part.strip())


def set_cookie(header: str | None) -> tuple[str, str, dict[str, str]]:
    """Name, value and attributes (lower-case names) of one Set-Cookie header."""
    assert header is not None
    assert "\n" not in header  # one cookie per answer
    first, *attributes = (part.strip() for part in header.split(";"))
    name, _, value = first.partition("=")
    pairs = (attribute.partition("=") for attribute in attributes)
    return name, value, {key.lower(): val for key, _, val in pairs}


async def refresh_tokens(context: "async_api.BrowserContext") -> dict[str, dict[str, Any]]:
    """The browser's refresh cookies by name."""
    cookies = await context.cookies()
    return {c["name"]: dict(c) for c in cookies if c["name"].startswith("tessera_rt")}


# As after a reload: no access token in memory, so the call refreshes with the cookie first.
RELOAD_AND_CALL = """async (path) => {
    const t = await import('./tessera.js');
    t.dropAccessToken();
    try {
        const r = await t.fetchWithAuth(path);
        return [r.status, await r.json()];
    } catch (e) {
        return [e.status, e.code];
    }
}"""


async def test_the_refresh_cookie_goes_only_to_the_refresh_path_and_each_app_keeps_its_own(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    context = await browser.new_context()
    # Every answer the pages got (not `requestfinished`: it never fires for an answer whose
    # body the page does not read, such as a 401 that fetchWithAuth retries, or the logout's).
    answers: list[async_api.Response] = []
    context.on("response", lambda response: answers.append(response))
    web = await context.new_page()
    address = "browser.sec.apps@example.com"
    user_id = await register(web, suite, address)
    await sign_in(web, address)
    await shot(web, shots, "1-web-app-signed-in")

    # A second app in the same browser: same device id (localStorage), another X-App-ID.
    other = await context.new_page()
    await other.goto(suite.web_url)
    other_session = await other.evaluate(
        """async ([address, password]) => {
            const t = await import('./tessera.js');
            t.configure({appId: 'other-app'});
            return (await t.signIn(address, password)).session;
        }""",
        [address, PASSWORD],
    )
    assert other_session["user_id"] == user_id

    cookies = await refresh_tokens(context)
    assert set(cookies) == {"tessera_rt_web-app", "tessera_rt_other-app"}
    for kept in cookies.values():
        assert (kept["path"], kept["httpOnly"], kept["sameSite"]) == (
            REFRESH_PATH,
            True,
            "Strict",
        ), kept
    assert cookies["tessera_rt_web-app"]["value"] != cookies["tessera_rt_other-app"]["value"]
    status, listed = await web.evaluate(RELOAD_AND_CALL, "/v1/sessions")
    assert status == 200, listed
    by_app = {s["app_id"]: s for s in listed["sessions"]}
    assert set(by_app) == {"web-app", "other-app"}, listed
    assert by_app["web-app"]["device_id"] == by_app["other-app"]["device_id"]
    assert by_app["web-app"]["current"]
    assert not by_app["other-app"]["current"]
    assert sorted(families(suite, user_id).values()) == ["other-app", "web-app"]
    assert claims(other_session["access_token"])["sid"] == by_app["other-app"]["id"]
    await web.evaluate(
        "s => { document.getElementById('me').textContent = s; }", json.dumps(listed, indent=2)
    )
    await shot(web, shots, "2-two-sessions")

    # Signing out of other-app leaves web-app's session and cookie as they were.
    await other.evaluate("import('./tessera.js').then(t => t.signOut())")
    assert set(await refresh_tokens(context)) == {"tessera_rt_web-app"}
    assert await other.evaluate(RELOAD_AND_CALL, "/v1/users/me") == [401, "refresh_token_invalid"]
    status, me = await web.evaluate(RELOAD_AND_CALL, "/v1/users/me")
    assert (status, me["user_id"]) == (200, user_id)
    assert list(families(suite, user_id).values()) == ["web-app"]
    status, listed = await web.evaluate(RELOAD_AND_CALL, "/v1/sessions")
    assert [s["app_id"] for s in listed["sessions"]] == ["web-app"]

    await web.get_by_role("button", name="Sign out", exact=True).click()
    await web.get_by_text("Signed out.").wait_for()
    await shot(web, shots, "3-signed-out")
    assert await refresh_tokens(context) == {}

    # Every request the browser made, with the headers it really sent (cookies included).
    sent = [
        (a.request.method, urlsplit(a.url), (await a.request.all_headers()).get("cookie", ""), a)
        for a in answers
    ]
    with_cookie = [(m, u.path) for m, u, cookie, _ in sent if "tessera_rt" in cookie]
    refreshes = [cookie for m, u, cookie, _ in sent if (m, u.path) == ("POST", REFRESH_PATH)]
    assert set(with_cookie) == {("POST", REFRESH_PATH)}, with_cookie
    # Both cookies go to every refresh while both exist (the path is the same): the server
    # picks the one of the X-App-ID, so other-app's refresh with web-app's cookie failed above.
    # The first two are the pages' own restore() at load: web before any sign-in, other's
    # (as web-app) once web-app had its cookie.
    assert [cookie_names(c) for c in refreshes] == [
        [],
        ["tessera_rt_web-app"],
        ["tessera_rt_other-app", "tessera_rt_web-app"],
        ["tessera_rt_web-app"],
        ["tessera_rt_web-app"],
        ["tessera_rt_web-app"],
    ]
    logouts = [(cookie, a) for m, u, cookie, a in sent if u.path == "/v1/logout" and m == "POST"]
    assert len(logouts) == 2
    for cookie, response in logouts:
        assert "tessera_rt" not in cookie  # Path=/v1/refresh-token does not cover /v1/logout
        name, value, cleared = set_cookie(await response.header_value("set-cookie"))
        assert name.startswith("tessera_rt_")
        assert value in ("", '""'), value  # emptied (Litestar quotes an empty value)
        assert (cleared["path"], cleared["max-age"]) == (REFRESH_PATH, "0"), cleared
    sign_ins = [a for m, u, _, a in sent if u.path == "/v1/authenticate" and m == "POST"]
    assert len(sign_ins) == 2
    for response in sign_ins:
        name, value, given = set_cookie(await response.header_value("set-cookie"))
        assert name in ("tessera_rt_web-app", "tessera_rt_other-app")
        assert value
        assert (given["path"], given["samesite"].lower()) == (REFRESH_PATH, "strict"), given
        assert "httponly" in given, given
    await context.close()


@pytest.fixture
def evil_origin() -> Iterator[str]:
    """Another origin on this machine, not on the gateway's CORS list: a real server on loopback
    at http://localhost:<free port>, the same site as the gateway (ports do not make sites), so
    SameSite=Strict does not keep the refresh cookie from its requests; only CORS (and the
    headers that need a preflight) keep the answers away. (Playwright shows only provisional
    headers of a request CORS failed, so whether the cookie went is not asserted.)

    Not a `page.route` at http://evil.test: Chromium (Local Network Access) blocks a public
    page's requests to loopback before CORS is consulted, so such a test proves nothing here."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = EVIL_PAGE.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def test_a_page_on_an_origin_not_allowed_cannot_read_any_answer(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path, evil_origin: str
) -> None:
    context = await browser.new_context()
    app = await context.new_page()
    address = "browser.sec.evil@example.com"
    user_id = await register(app, suite, address)  # real credentials: a sign-in would work
    session = await sign_in(app, address)  # and the browser holds a refresh cookie
    sid = claims(session["access_token"])["sid"]
    before = family_state(suite, user_id, sid)

    page = await context.new_page()
    await page.goto(f"{evil_origin}/")
    outcomes = await page.evaluate(
        """async ([gateway, username, password]) => {
            const attempt = (path, init) => fetch(gateway + path, init)
                .then(r => `read ${r.status}`, e => e.name);
            const json = {'Content-Type': 'application/json', 'X-Device-ID': 'evil-device'};
            const outcomes = {
                me: await attempt('/v1/users/me', {credentials: 'include'}),
                meWithToken: await attempt('/v1/users/me', {credentials: 'include',
                    headers: {Authorization: 'Bearer x', 'X-Device-ID': 'evil-device'}}),
                // Preflighted (JSON, X-Device-ID): refused, so the POST is never sent.
                signIn: await attempt('/v1/authenticate', {method: 'POST', credentials: 'include',
                    headers: json, body: JSON.stringify({username, password})}),
                // Not preflighted: sent, refused by the gateway (not JSON), unreadable anyway.
                plainSignIn: await attempt('/v1/authenticate', {method: 'POST',
                    credentials: 'include', headers: {'Content-Type': 'text/plain'},
                    body: JSON.stringify({username, password})}),
                // Not preflighted, and same-site (the cookie may go along): refused without
                // X-Device-ID, which only a preflight could have allowed.
                refresh: await attempt('/v1/refresh-token', {method: 'POST',
                    credentials: 'include'}),
            };
            // no-cors sends the request but hands the page an opaque answer: nothing to read.
            const opaque = await fetch(gateway + '/v1/users/me', {mode: 'no-cors'});
            outcomes.noCors = [opaque.type, opaque.status, await opaque.text()];
            document.getElementById('out').textContent = JSON.stringify(outcomes, null, 2);
            return outcomes;
        }""",
        [suite.gateway_url, address, PASSWORD],
    )
    await shot(page, shots, "1-other-origin-read-nothing")

    assert outcomes == {
        "me": "TypeError",
        "meWithToken": "TypeError",
        "signIn": "TypeError",
        "plainSignIn": "TypeError",
        "refresh": "TypeError",
        "noCors": ["opaque", 0, ""],
    }
    # No sign-in got through (one session: the app's), and its refresh token did not rotate.
    assert families(suite, user_id) == {sid: "web-app"}
    assert family_state(suite, user_id, sid) == before
    status, me = await app.evaluate(RELOAD_AND_CALL, "/v1/users/me")
    assert (status, me["user_id"]) == (200, user_id)

    ask = {"Access-Control-Request-Method": "POST"}
    ask["Access-Control-Request-Headers"] = "content-type,x-device-id"
    for origin in (EVIL, evil_origin):
        status, refused = call(suite, "OPTIONS", "/v1/authenticate", {"Origin": origin, **ask})
        assert status == 204
        assert not [name for name in refused if name.startswith("access-control-")], refused
    headers = {"Origin": suite.web_origin, **ask}
    status, allowed = call(suite, "OPTIONS", "/v1/authenticate", headers)
    assert status == 204
    assert allowed["access-control-allow-origin"] == suite.web_origin
    assert allowed["access-control-allow-credentials"] == "true"
    assert "POST" in allowed["access-control-allow-methods"].split(", ")
    granted = {h.lower() for h in allowed["access-control-allow-headers"].split(", ")}
    assert {"content-type", "x-device-id"} <= granted
    await context.close()


async def test_an_expired_access_token_gets_a_401_then_one_refresh_and_the_retry_succeeds(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    page = await browser.new_page()
    address = "browser.sec.expiry@example.com"
    await register(page, suite, address)
    session = await sign_in(page, address)
    await shot(page, shots, "1-signed-in")
    token = session["access_token"]
    expires = claims(token)["exp"]
    assert 0 < session["expires_in"] < suite.access_ttl_s
    assert expires <= time.time() + suite.access_ttl_s + 1
    device = await page.evaluate("localStorage.getItem('tessera.device_id')")

    # The servers accept a token until exp + leeway: the one real wait of the module.
    await asyncio.sleep(max(0.0, expires + LEEWAY_S + 1 - time.time()))
    assert me_status(suite, token, device) == 401  # the gateway itself refuses it now
    seen: list[tuple[str, str, int]] = []
    page.on(
        "response",
        lambda r: (
            seen.append((r.request.method, urlsplit(r.url).path, r.status))
            if r.url.startswith(suite.gateway_url)
            else None
        ),
    )
    async with page.expect_response(lambda r: r.url.endswith(REFRESH_PATH)) as refreshed:
        status, me = await page.evaluate(
            """async () => {
                const t = await import('./tessera.js');
                const r = await t.fetchWithAuth('/v1/users/me');
                return [r.status, await r.json()];
            }"""
        )
    await page.evaluate(
        "s => { document.getElementById('me').textContent = s; }", json.dumps(me, indent=2)
    )
    await shot(page, shots, "2-after-expiry-refreshed")

    assert status == 200, me
    assert [s for s in seen if s[0] != "OPTIONS"] == [
        ("GET", "/v1/users/me", 401),
        ("POST", REFRESH_PATH, 200),
        ("GET", "/v1/users/me", 200),
    ]
    fresh = (await (await refreshed.value).json())["access_token"]
    assert claims(fresh)["sid"] == claims(token)["sid"]  # the same session, a new token
    assert claims(fresh)["exp"] > time.time()
    assert me_status(suite, fresh, device) == 200
    await page.close()


async def test_sign_out_ends_the_access_token_at_once_and_the_refresh_cookie_with_it(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    address = "browser.sec.logout@example.com"
    user_id = await register(page, suite, address)
    session = await sign_in(page, address)
    await shot(page, shots, "1-signed-in")
    token = session["access_token"]
    sid, expires = claims(token)["sid"], claims(token)["exp"]
    device = await page.evaluate("localStorage.getItem('tessera.device_id')")
    [(name, cookie)] = (await refresh_tokens(context)).items()
    assert name == "tessera_rt_web-app"
    assert families(suite, user_id) == {sid: "web-app"}
    assert me_status(suite, token, device) == 200

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.get_by_text("Signed out.").wait_for()
    await shot(page, shots, "2-signed-out")

    status = me_status(suite, token, device)
    assert time.time() < expires + LEEWAY_S  # the token would still be accepted by its time
    assert status == 401
    assert families(suite, user_id) == {}
    assert await refresh_tokens(context) == {}
    assert await page.evaluate(RELOAD_AND_CALL, "/v1/users/me") == [401, "refresh_token_invalid"]
    # The old refresh token is dead on the server too, not only gone from the browser.
    await context.add_cookies([cookie])  # type: ignore[list-item]
    assert await page.evaluate(RELOAD_AND_CALL, "/v1/users/me") == [401, "refresh_token_invalid"]
    await shot(page, shots, "3-refresh-refused")
    await context.close()
