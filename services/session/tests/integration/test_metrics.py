"""The session service's `GET /metrics`: request metrics, sign-ins, second factors, refreshes."""

from tessera_shared.testing.metrics import sample

from .conftest import LOGIN_CODE, USERNAME, Env, bearer, error_of

SERVICE = "tessera-session"


async def scraped(session: Env) -> str:
    answer = await session.client.get("/metrics")
    assert answer.status_code == 200
    return answer.text


async def counts(session: Env, name: str, label: str, *values: str) -> dict[str, float]:
    """The samples of counter `name` whose only label `label` has one of `values`."""
    text = await scraped(session)
    return {v: sample(text, name, **{label: v}) for v in values}


def grown(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    """How much each sample grew, leaving out those that did not."""
    return {k: after[k] - before[k] for k in before if after[k] != before[k]}


LOGIN_RESULTS = ("success", "mfa_required", "failed", "locked", "refused", "error")
REFRESH_RESULTS = ("rotated", "replayed", "refused")


async def test_metrics_are_open_and_count_requests_by_route_template_and_status(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    labels = {
        "service": SERVICE,
        "method": "DELETE",
        "route": "/v1/sessions/{session_id}",
        "status": "204",
    }
    before = sample(await scraped(session), "tessera_http_requests_total", **labels)

    ended = await session.client.delete(
        f"/v1/sessions/{login.sid}", headers=bearer(login.access_token)
    )

    assert ended.status_code == 204
    text = await scraped(session)
    assert sample(text, "tessera_http_requests_total", **labels) == before + 1
    assert login.sid not in text


async def test_a_failed_and_a_successful_sign_in_are_counted_by_their_result(session):
    session.identity.add_user(USERNAME)
    before = await counts(session, "tessera_logins_total", "result", *LOGIN_RESULTS)

    assert error_of(await session.authenticate(USERNAME, "wrong")) == (401, "invalid_credentials")
    await session.login(USERNAME)

    after = await counts(session, "tessera_logins_total", "result", *LOGIN_RESULTS)
    assert grown(before, after) == {"failed": 1, "success": 1}


async def test_locked_accounts_and_sign_ins_needing_a_second_factor_have_results_of_their_own(
    session,
):
    session.identity.add_user("locked@example.com")
    session.identity.lock("locked@example.com")
    session.identity.add_user(USERNAME, mfa_mode="email")
    before = await counts(session, "tessera_logins_total", "result", *LOGIN_RESULTS)

    assert error_of(await session.authenticate("locked@example.com"))[1] == "account_locked"
    await session.challenge(USERNAME)

    after = await counts(session, "tessera_logins_total", "result", *LOGIN_RESULTS)
    assert grown(before, after) == {"locked": 1, "mfa_required": 1}


async def test_identity_down_counts_a_sign_in_as_an_error(session):
    session.identity.add_user(USERNAME)
    session.identity.mode = "fail"
    before = await counts(session, "tessera_logins_total", "result", *LOGIN_RESULTS)

    assert (await session.authenticate(USERNAME)).status_code == 503

    after = await counts(session, "tessera_logins_total", "result", *LOGIN_RESULTS)
    assert grown(before, after) == {"error": 1}


async def test_second_factors_are_counted_by_factor_and_result(session):
    session.identity.add_user(USERNAME, mfa_mode="email")
    name = "tessera_mfa_verifications_total"
    results = [("otp", "wrong"), ("otp", "success"), ("unknown", "challenge_invalid")]

    async def now() -> list[float]:
        text = await scraped(session)
        return [sample(text, name, factor=f, result=r) for f, r in results]

    before = await now()
    challenge = await session.challenge(USERNAME)

    assert error_of(await session.verify_2fa(challenge, {"otp": "000000"}))[1] == "otp_invalid"
    assert (await session.verify_2fa(challenge, {"otp": LOGIN_CODE})).status_code == 200
    forged = await session.verify_2fa("not-a-token", {"otp": LOGIN_CODE})
    assert error_of(forged) == (401, "challenge_invalid")

    assert [a - b for a, b in zip(await now(), before, strict=True)] == [1, 1, 1]


async def test_refreshes_are_counted_as_rotated_replayed_or_refused(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    before = await counts(session, "tessera_refreshes_total", "result", *REFRESH_RESULTS)

    assert (await session.refresh(login.cookie)).status_code == 200  # rotated
    assert (await session.refresh(login.cookie)).status_code == 200  # inside the grace window
    assert (await session.refresh("not-a-refresh-token")).status_code == 401

    after = await counts(session, "tessera_refreshes_total", "result", *REFRESH_RESULTS)
    assert grown(before, after) == {"rotated": 1, "replayed": 1, "refused": 1}


async def test_a_reused_refresh_token_is_counted_as_a_reuse_detection(session):
    session.identity.add_user(USERNAME)
    login = await session.login(USERNAME)
    one = session.login_of(await session.refresh(login.cookie))
    two = session.login_of(await session.refresh(one.cookie))
    session.login_of(await session.refresh(two.cookie))
    name = "tessera_refresh_reuse_detected_total"
    before = sample(await scraped(session), name)
    refused_before = sample(await scraped(session), "tessera_refreshes_total", result="refused")

    reused = await session.refresh(login.cookie)  # three rotations old: the family is revoked

    assert error_of(reused) == (401, "refresh_token_invalid")
    text = await scraped(session)
    assert sample(text, name) == before + 1
    assert sample(text, "tessera_refreshes_total", result="refused") == refused_before + 1
