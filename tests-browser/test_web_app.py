"""The example web app (`examples/web`) in headless Chromium against the suite `make run` starts:
the page on localhost:<web>, the gateway on localhost:<gateway> (same site, another origin), so
CORS with credentials and the SameSite=Strict refresh cookie are what a browser really does."""

import json
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

import psycopg

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


async def test_register_verify_sign_in_see_me_and_sign_out_by_clicking(
    browser: "async_api.Browser", suite: SimpleNamespace, tmp_path: Path
) -> None:
    page = await browser.new_page()
    address = "browser.jane@example.com"

    me = await sign_up_and_in(page, suite, address, shots=tmp_path)

    assert me["status"] == "active", me
    assert address in json.dumps(me), me
    with psycopg.connect(suite.postgres_url) as conn:
        row = conn.execute("SELECT status FROM users WHERE id = %s", (me["user_id"],)).fetchone()
    assert row == ("active",)

    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_text("Signed out.").wait_for()
    await page.screenshot(path=str(tmp_path / "5-signed-out.png"), full_page=True)
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
    browser: "async_api.Browser", suite: SimpleNamespace, tmp_path: Path
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
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_text("Signed out.").wait_for()
    challenges: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: challenges.append(r.headers) if r.url.endswith("/v1/verify-2FA") else None,
    )

    await page.locator("#signin").get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("2FA code").wait_for()
    await page.screenshot(path=str(tmp_path / "2fa.png"), full_page=True)
    await page.get_by_label("2FA code").fill(code_for(suite.inbox_url, address, nth=2))
    await page.get_by_role("button", name="Continue").click()
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
