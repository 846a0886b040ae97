"""Identity's `GET /metrics`: request metrics by route template, and the flows' counters."""

import uuid
from collections.abc import AsyncIterator

import pytest

from tessera_shared.testing.metrics import sample

from .conftest import Env, running
from .session_standin import StandInSession
from .test_login import WRONG, sign_in
from .test_password import (
    PASSWORD,
    change,
    confirm_reset,
    other_code,
    request_reset,
    reset_code,
    user_with_password,
)
from .test_registration import register

SERVICE = "tessera-identity"


async def scraped(identity: Env) -> str:
    answer = await identity.client.get("/metrics")
    assert answer.status_code == 200
    return answer.text


def new_address() -> str:
    return f"m{uuid.uuid4().hex[:10]}@example.com"


@pytest.fixture
async def accounts(
    postgres_url: str, nats_url: str, test_id: str, sessions: StandInSession
) -> AsyncIterator[Env]:
    """Identity whose session service is the stand-in (password resets end sessions there)."""
    async with running(postgres_url, nats_url, test_id, session_url=sessions.url) as env:
        yield env


async def test_metrics_are_open_on_identity_and_count_requests_by_route_and_status(identity):
    labels = {
        "service": SERVICE,
        "method": "POST",
        "route": "/internal/v1/password/verify",
        "status": "401",
    }
    before = sample(await scraped(identity), "tessera_http_requests_total", **labels)

    assert (await sign_in(identity.client, new_address(), WRONG)).status_code == 401

    after = sample(await scraped(identity), "tessera_http_requests_total", **labels)
    assert after == before + 1


async def test_a_sign_in_lock_is_counted_once_when_it_is_set(identity):
    address = new_address()
    name = "tessera_lockouts_total"
    per_ip = {"scope": "account_ip", "flow": "login"}
    per_account = {"scope": "account", "flow": "login"}
    text = await scraped(identity)
    before = (sample(text, name, **per_ip), sample(text, name, **per_account))
    for _ in range(identity.settings.lockout_ip_failures):
        assert (await sign_in(identity.client, address, WRONG)).status_code == 401

    assert (await sign_in(identity.client, address, WRONG)).status_code == 423  # the lock
    assert (await sign_in(identity.client, address, WRONG)).status_code == 423  # still locked

    text = await scraped(identity)
    after = (sample(text, name, **per_ip), sample(text, name, **per_account))
    assert after == (before[0] + 1, before[1])


async def test_a_password_change_lock_is_counted_apart_from_sign_in_locks(accounts):
    user_id = user_with_password(accounts, new_address())
    token = accounts.access_token(user_id)
    name = "tessera_lockouts_total"
    change_lock = {"scope": "account_ip", "flow": "password_change"}
    sign_in_lock = {"scope": "account_ip", "flow": "login"}
    text = await scraped(accounts)
    before = (sample(text, name, **change_lock), sample(text, name, **sign_in_lock))
    for _ in range(accounts.settings.lockout_ip_failures):
        assert (await change(accounts, token, "not-the-password-1")).status_code == 401

    assert (await change(accounts, token, PASSWORD)).status_code == 423

    text = await scraped(accounts)
    after = (sample(text, name, **change_lock), sample(text, name, **sign_in_lock))
    assert after == (before[0] + 1, before[1])


async def test_a_new_account_is_counted_as_a_registration_of_its_surface(identity):
    name = "tessera_registrations_total"
    before = sample(await scraped(identity), name, surface="v1")

    assert (await register(identity, new_address())).status_code == 200

    assert sample(await scraped(identity), name, surface="v1") == before + 1


async def test_a_completed_password_reset_is_counted_and_a_refused_one_is_not(accounts):
    address = new_address()
    user_with_password(accounts, address)
    name = "tessera_password_resets_total"
    before = sample(await scraped(accounts), name)
    await request_reset(accounts, address)
    code = await reset_code(accounts, address)

    assert (await confirm_reset(accounts, address, other_code(code))).status_code == 400
    assert sample(await scraped(accounts), name) == before

    assert (await confirm_reset(accounts, address, code)).status_code == 200
    assert sample(await scraped(accounts), name) == before + 1
