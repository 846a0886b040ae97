"""PostgreSQL going away and coming back: quick 503s with Retry-After meanwhile, no waiting
for the pool's timeout on every request, and service again by itself once it is back."""

import time

from tessera_shared.testing.waiting import eventually

from .conftest import running

PASSWORD = "Correct-Horse-9x"


async def test_while_postgres_is_down_requests_are_answered_503_within_a_second_then_served(
    own_postgres, nats_url, test_id
):
    async with running(own_postgres.url(), nats_url, test_id) as identity:
        user_id = identity.active_user("outage@example.com", password=PASSWORD)
        me = ("GET", "/v1/users/me", {"authorization": f"Bearer {identity.access_token(user_id)}"})
        sign_in = {"username": "outage@example.com", "password": PASSWORD, "client_ip": "::1"}
        password = (
            "POST",
            "/internal/v1/password/verify",
            {"x-internal-token": "internal-test-token"},
        )

        async def send(request: tuple[str, str, dict[str, str]]):
            method, path, headers = request
            body = sign_in if method == "POST" else None
            return await identity.client.request(method, path, headers=headers, json=body)

        assert (await send(me)).status_code == 200
        assert (await send(password)).status_code == 200

        own_postgres.stop()
        for request in (me, password, me, password):
            started = time.monotonic()
            answer = await send(request)
            took = time.monotonic() - started
            assert answer.status_code == 503
            assert answer.json()["code"] == "service_unavailable"
            assert answer.headers["retry-after"] == "2"
            assert took <= 1.0, f"{request[1]}: {took:.2f} s"

        own_postgres.start()
        for request in (me, password):
            back = await eventually(lambda r=request: send(r), lambda a: a.status_code == 200, 10)
        assert back.json()["user_id"] == str(user_id)
