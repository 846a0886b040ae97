"""Redis going away and coming back: quick 503s with Retry-After, then service by itself."""

import time

from tessera_shared.testing.waiting import eventually

from .conftest import bearer


async def test_while_redis_is_down_sign_ins_and_refreshes_are_quick_503s_with_retry_after(
    start_session, own_redis
):
    env = await start_session(redis_url=own_redis.url())
    env.identity.add_user("outage@example.com")
    login = await env.login("outage@example.com")

    own_redis.stop()
    attempts = {
        "sign-in": lambda: env.authenticate("outage@example.com"),
        "refresh": lambda: env.refresh(login.cookie),
        "sessions": lambda: env.client.get("/v1/sessions", headers=bearer(login.access_token)),
    }
    for what, attempt in attempts.items():
        started = time.monotonic()
        answer = await attempt()
        took = time.monotonic() - started
        assert (what, answer.status_code) == (what, 503)
        assert answer.json()["code"] == "service_unavailable"
        assert (what, answer.headers.get("retry-after")) == (what, "2")
        assert took <= 1.0, f"{what}: {took:.2f} s"

    own_redis.start()
    again = await eventually(attempts["sign-in"], lambda answer: answer.status_code == 200)
    assert again.json()["access_token"]
