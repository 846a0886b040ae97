"""The example web app (`examples/web`) in headless Chromium against the suite `make run` starts:
the page on localhost:<web>, the gateway on localhost:<gateway> (same site, another origin), so
CORS with credentials and the SameSite=Strict refresh cookie are what a browser really does."""

import json
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import psycopg
import pyotp
import zxingcpp

from tessera_shared.testing.browser import chromium_or_skip

from .conftest import code_for

if TYPE_CHECKING:
    from playwright import async_api

chromium_or_skip()  # the whole module, before its suite starts

PASSWORD = "securePassword123!"


async def sign_up_and_in(
    page: "async_api.Page", suite: SimpleNamespace, address: str, shots: Path | None = None
) -> dict[str, object]:
    """Registration → code → sign-in by clicking through the page; /v1/users/me as shown."""

    async def shot(name: str) -> None:
        if shots is not None:
            await page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    await page.goto(suite.web_url)
    await page.get_by_label("Email", exact=True).fill(address)
    await page.locator("#register").get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("I accept the terms of service").check()
    await page.get_by_label("I accept the privacy policy").check()
    await shot("1-register")
    await page.get_by_role("button", name="Register").click()
    await page.get_by_label("Verification code").wait_for()
    await shot("2-code")
    await page.get_by_label("Verification code").fill(code_for(suite.inbox_url, address))
    await page.get_by_role("button", name="Verify").click()
    await page.get_by_label("Email or phone").wait_for()
    await page.locator("#signin").get_by_label("Password").fill(PASSWORD)
    await shot("3-sign-in")
    await page.get_by_role("button", name="Sign in").click()
    await page.locator("#account").wait_for()
    await shot("4-signed-in")
    me: dict[str, object] = json.loads(await page.locator("#me").text_content() or "{}")
    return me


async def sign_out(page: "async_api.Page") -> None:
    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.get_by_text("Signed out.").wait_for()


async def sign_in(page: "async_api.Page", address: str, password: str = PASSWORD) -> None:
    """Fills and sends the sign-in form; the caller waits for what should come next."""
    await page.get_by_label("Email or phone").fill(address)
    await page.locator("#signin").get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def second_factor(page: "async_api.Page", code: str) -> None:
    await page.get_by_label("2FA code").fill(code)
    await page.get_by_role("button", name="Continue").click()


async def test_register_verify_sign_in_see_me_and_sign_out_by_clicking(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    page = await browser.new_page()
    address = "browser.jane@example.com"

    me = await sign_up_and_in(page, suite, address, shots=shots)

    assert me["status"] == "active", me
    assert address in json.dumps(me), me
    with psycopg.connect(suite.postgres_url) as conn:
        row = conn.execute("SELECT status FROM users WHERE id = %s", (me["user_id"],)).fetchone()
    assert row == ("active",)

    await page.get_by_role("button", name="Sign out", exact=True).click()
    await page.get_by_text("Signed out.").wait_for()
    await page.screenshot(path=str(shots / "5-signed-out.png"), full_page=True)
    assert not [c for c in await page.context.cookies() if c["name"].startswith("tessera_rt")]
    # The session is over on the server too: a refresh with whatever the browser kept fails.
    status = await page.evaluate(
        "import('./tessera.js').then(t => t.fetchWithAuth('/v1/users/me')).then(r => r.status,"
        " e => e.status)"
    )
    assert status == 401
    await page.close()


async def test_the_refresh_cookie_is_hidden_from_scripts_and_storage_holds_only_the_device_id(
    browser: "async_api.Browser", suite: SimpleNamespace
) -> None:
    page = await browser.new_page()
    tokens: list[str] = []

    async def keep_token(response: "async_api.Response") -> None:
        if response.url.endswith("/v1/authenticate") and response.ok:
            tokens.append((await response.json())["access_token"])

    page.on("response", keep_token)
    await sign_up_and_in(page, suite, "browser.storage@example.com")

    [cookie] = [c for c in await page.context.cookies() if c["name"].startswith("tessera_rt")]
    assert (cookie["httpOnly"], cookie["path"], cookie["sameSite"]) == (
        True,
        "/v1/refresh-token",
        "Strict",
    )
    assert cookie["value"] not in await page.evaluate("document.cookie")
    stored = await page.evaluate("({local: {...localStorage}, session: {...sessionStorage}})")
    assert list(stored["local"]) == ["tessera.device_id"]
    assert stored["session"] == {}
    [token] = tokens
    assert token not in json.dumps(stored)
    assert cookie["value"] not in json.dumps(stored)
    await page.close()


async def test_five_parallel_calls_after_the_token_is_gone_share_one_refresh(
    browser: "async_api.Browser", suite: SimpleNamespace
) -> None:
    page = await browser.new_page()
    await sign_up_and_in(page, suite, "browser.parallel@example.com")
    refreshes: list[str] = []
    page.on(
        "request",
        lambda r: refreshes.append(r.method) if r.url.endswith("/v1/refresh-token") else None,
    )

    # As after a reload: no access token in memory, only the cookie.
    statuses = await page.evaluate(
        """async () => {
            const t = await import('./tessera.js');
            t.dropAccessToken();
            const calls = Array.from({length: 5}, () => t.fetchWithAuth('/v1/users/me'));
            return (await Promise.all(calls)).map(r => r.status);
        }"""
    )

    assert statuses == [200] * 5
    assert [method for method in refreshes if method != "OPTIONS"] == ["POST"]
    await page.close()


async def test_with_email_mfa_on_sign_in_asks_for_the_code_and_then_shows_the_account(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    page = await browser.new_page()
    address = "browser.mfa@example.com"
    await sign_up_and_in(page, suite, address)
    turned_on = await page.evaluate(
        """async () => {
            const t = await import('./tessera.js');
            const body = JSON.stringify({mfa_mode: 'email'});
            const r = await t.fetchWithAuth('/v1/users/me/mfa', {method: 'PUT', body});
            return [r.status, await r.json()];
        }"""
    )
    assert turned_on[0] == 200, turned_on
    await sign_out(page)
    challenges: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: challenges.append(r.headers) if r.url.endswith("/v1/verify-2FA") else None,
    )

    await sign_in(page, address)
    await page.get_by_label("2FA code").wait_for()
    await page.screenshot(path=str(shots / "2fa.png"), full_page=True)
    await second_factor(page, code_for(suite.inbox_url, address, nth=2))
    await page.locator("#account").wait_for()

    me = json.loads(await page.locator("#me").text_content() or "{}")
    assert me["mfa_mode"] == "email", me
    [sent] = [h for h in challenges if "x-mfa-challenge" in h]
    assert "authorization" not in sent  # the challenge travels only as X-MFA-Challenge
    await page.close()


async def test_a_refused_registration_shows_the_servers_message(
    browser: "async_api.Browser", suite: SimpleNamespace
) -> None:
    page = await browser.new_page()
    await page.goto(suite.web_url)
    await page.get_by_label("Email", exact=True).fill("browser.noterms@example.com")
    await page.locator("#register").get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("I accept the privacy policy").check()

    async with page.expect_response(lambda r: "initiate-registration" in r.url) as answer:
        await page.get_by_role("button", name="Register").click()
    response = await answer.value

    assert response.status == 422
    message = (await response.json())["message"]
    assert message
    await page.get_by_role("alert").filter(has_text=message).wait_for()
    with psycopg.connect(suite.postgres_url) as conn:
        query = "SELECT count(*) FROM credentials WHERE value = %s"
        found = conn.execute(query, ("browser.noterms@example.com",)).fetchone()
    assert found == (0,)
    await page.close()


def new_phone_number() -> str:
    return f"+4179{uuid.uuid4().int % 10**7:07d}"


async def add_phone_by_hand(
    page: "async_api.Page", suite: SimpleNamespace
) -> tuple[str, list[str]]:
    """Adds and verifies a phone on the signed-in page: (number, recovery codes shown)."""
    number = new_phone_number()
    await page.get_by_label("Phone number").fill(number)
    await page.get_by_role("button", name="Send code to phone").click()
    await page.get_by_label("Code from the SMS").fill(code_for(suite.inbox_url, number))
    await page.get_by_role("button", name="Verify phone").click()
    await page.locator("#recovery-codes li").first.wait_for()
    return number, await page.locator("#recovery-codes li").all_text_contents()


async def test_a_verified_phone_turns_on_sms_2fa_and_the_next_sign_in_needs_the_sms_code(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    page = await browser.new_page()
    address = "browser.phone@example.com"
    me = await sign_up_and_in(page, suite, address)

    number, codes = await add_phone_by_hand(page, suite)

    await page.get_by_text("two-factor: sms").wait_for()
    assert len(set(codes)) == len(codes) == 10, codes
    with psycopg.connect(suite.postgres_url) as conn:
        query = "SELECT verified_at IS NOT NULL FROM credentials WHERE user_id = %s AND type = %s"
        assert conn.execute(query, (me["user_id"], "phone")).fetchall() == [(True,)]
    await sign_out(page)

    await sign_in(page, address)
    await page.get_by_text("Enter the code by SMS.").wait_for()
    await page.screenshot(path=str(shots / "sms-2fa.png"), full_page=True)
    await second_factor(page, code_for(suite.inbox_url, number, nth=2))
    await page.locator("#account").wait_for()
    assert json.loads(await page.locator("#me").text_content() or "{}")["mfa_mode"] == "sms"

    # New recovery codes need a fresh code: "send me a code" texts one.
    await page.get_by_role("button", name="send me a code").click()
    await page.get_by_text("A code is on its way (sms).").wait_for()
    await page.get_by_label("Current code").fill(code_for(suite.inbox_url, number, nth=3))
    await page.get_by_role("button", name="New recovery codes").click()
    await page.get_by_text("New recovery codes: the old ones no longer work.").wait_for()
    renewed = await page.locator("#recovery-codes li").all_text_contents()
    assert len(renewed) == 10, renewed
    assert not set(renewed) & set(codes), (renewed, codes)
    await page.close()


async def qr_text(page: "async_api.Page", selector: str) -> str:
    """Decodes the QR code the page shows, from its pixels as Chromium draws them."""
    width, height, pixels = await page.evaluate(
        """(selector) => {
            const img = document.querySelector(selector);
            const canvas = document.createElement('canvas');
            canvas.width = 400; canvas.height = 400;
            const context = canvas.getContext('2d');
            context.fillStyle = 'white';
            context.fillRect(0, 0, 400, 400);
            context.drawImage(img, 20, 20, 360, 360);
            const rgba = context.getImageData(0, 0, 400, 400).data;
            const gray = [];
            for (let i = 0; i < rgba.length; i += 4) gray.push(rgba[i + 1]);
            return [400, 400, gray];
        }""",
        selector,
    )
    found = zxingcpp.read_barcodes(Luminance(bytes(pixels), width, height))
    assert len(found) == 1, found
    return str(found[0].text)


class Luminance:
    """8-bit gray pixels in the array interface zxingcpp reads (no numpy or Pillow needed)."""

    def __init__(self, pixels: bytes, width: int, height: int) -> None:
        self.pixels = pixels
        self.__array_interface__ = {
            "shape": (height, width),
            "typestr": "|u1",
            "data": pixels,
            "version": 3,
        }


async def test_an_authenticator_app_set_up_from_the_qr_code_signs_in_and_recovery_codes_work_once(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    page = await browser.new_page()
    address = "browser.totp@example.com"
    me = await sign_up_and_in(page, suite, address)

    await page.get_by_role("button", name="Set up authenticator app").click()
    await page.get_by_alt_text("QR code for your authenticator app").wait_for()
    await page.screenshot(path=str(shots / "totp-qr.png"), full_page=True)
    uri = await qr_text(page, "#totp-qr")
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP), uri
    assert totp.name == address, uri
    await page.get_by_label("Code from the app").fill(totp.now())
    await page.get_by_role("button", name="Turn on authenticator app").click()
    await page.get_by_text("two-factor: totp").wait_for()
    codes = await page.locator("#recovery-codes li").all_text_contents()
    assert len(codes) == 10, codes
    with psycopg.connect(suite.postgres_url) as conn:
        row = conn.execute("SELECT mfa_mode FROM users WHERE id = %s", (me["user_id"],)).fetchone()
    assert row == ("totp",)

    # Signing in again: the app's codes were spent for this step, so use a recovery code.
    await sign_out(page)
    for attempt in ("first", "again"):
        await sign_in(page, address)
        await page.get_by_text("Enter the code in your authenticator app.").wait_for()
        await second_factor(page, codes[0])
        if attempt == "first":
            await page.locator("#account").wait_for()
            await sign_out(page)
    # The same recovery code a second time: the server's message, and still on the 2FA step.
    await page.get_by_role("alert").filter(has_text="recovery code").wait_for()
    assert await page.locator("#second-factor").is_visible()
    await page.close()


async def test_the_session_list_shows_each_device_and_signs_out_another_one(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    address = "browser.devices@example.com"
    laptop = await browser.new_context()
    phone = await browser.new_context()  # another browser: its own device id and cookies
    page = await laptop.new_page()
    me = await sign_up_and_in(page, suite, address)
    other = await phone.new_page()
    await other.goto(suite.web_url + "#signin")
    await sign_in(other, address)
    await other.locator("#account").wait_for()

    await page.reload()
    await page.locator("#sessions li").nth(1).wait_for()
    assert await page.locator("#sessions li").count() == 2
    await page.get_by_text("(this browser)").wait_for()
    await page.screenshot(path=str(shots / "sessions.png"), full_page=True)
    await page.get_by_role("button", name="Sign out this device").click()
    await page.get_by_text("That device is signed out.").wait_for()

    assert await page.locator("#sessions li").count() == 1
    with psycopg.connect(suite.postgres_url) as conn:
        assert conn.execute("SELECT 1 FROM users WHERE id = %s", (me["user_id"],)).fetchone()
    # The other browser's session is over: its next call cannot refresh either.
    status = await other.evaluate(
        """async () => {
            const t = await import('./tessera.js');
            t.dropAccessToken();
            return t.fetchWithAuth('/v1/users/me').then(r => r.status, e => e.status);
        }"""
    )
    assert status == 401
    await laptop.close()
    await phone.close()


async def test_a_reload_keeps_the_session_without_storing_the_access_token(
    browser: "async_api.Browser", suite: SimpleNamespace
) -> None:
    page = await browser.new_page()
    me = await sign_up_and_in(page, suite, "browser.reload@example.com")

    def refresh(r: "async_api.Response") -> bool:
        return r.url.endswith("/v1/refresh-token") and r.request.method == "POST"

    async with page.expect_response(refresh) as answer:
        await page.reload()
    assert (await answer.value).status == 200
    await page.locator("#account").wait_for()

    shown = json.loads(await page.locator("#me").text_content() or "{}")
    assert shown["user_id"] == me["user_id"]
    await page.close()


async def test_the_language_picker_shows_the_servers_message_in_that_language(
    browser: "async_api.Browser", suite: SimpleNamespace, shots: Path
) -> None:
    page = await browser.new_page()
    await page.goto(suite.web_url + "#signin")
    await page.get_by_label("Language").select_option("de")
    async with page.expect_request(lambda r: r.url.endswith("/v1/authenticate")) as sent:
        await sign_in(page, "browser.nobody@example.com", "wrong-password-1!")
    request = await sent.value
    response = await request.response()

    assert request.headers["accept-language"] == "de"
    assert response is not None
    assert response.status == 401
    message = (await response.json())["message"]
    await page.get_by_role("alert").filter(has_text=message).wait_for()
    await page.screenshot(path=str(shots / "german-error.png"), full_page=True)
    english = await page.evaluate(
        """async () => {
            const t = await import('./tessera.js');
            t.configure({language: 'en'});
            return t.signIn('browser.nobody@example.com', 'wrong-password-1!')
              .then(() => null, e => e.message);
        }"""
    )
    assert english
    assert english != message
    assert await page.evaluate("localStorage.getItem('tessera.language')") == "de"
    await page.close()
