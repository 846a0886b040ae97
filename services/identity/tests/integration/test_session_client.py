"""The session service client against a real HTTP server (the stand-in)."""

import time
import uuid
from collections.abc import AsyncIterator

import pytest

from tessera_identity.adapters.session_client import SessionClient
from tessera_shared.devservers.ports import free_port
from tessera_shared.errors import Code, TesseraError

from .conftest import INTERNAL_TOKEN
from .session_standin import StandInSession


@pytest.fixture
async def client(sessions: StandInSession) -> AsyncIterator[SessionClient]:
    session_client = SessionClient(sessions.url + "/", INTERNAL_TOKEN, timeout_s=0.5)
    try:
        yield session_client
    finally:
        await session_client.close()


async def test_a_revocation_sends_the_user_the_kept_session_and_the_internal_token(
    client, sessions
):
    user_id = uuid.uuid4()
    assert await client.revoke(user_id, keep_session="sid-1", credential_version=3) == 2
    assert await client.revoke(user_id) == 2
    assert await client.revoke(user_id, purge=True) == 2
    assert [call.body for call in sessions.calls] == [
        {"user_id": str(user_id), "keep_session": "sid-1", "credential_version": 3, "purge": False},
        {"user_id": str(user_id), "keep_session": None, "credential_version": None, "purge": False},
        {"user_id": str(user_id), "keep_session": None, "credential_version": None, "purge": True},
    ]
    assert {call.headers["x-internal-token"] for call in sessions.calls} == {INTERNAL_TOKEN}


@pytest.mark.parametrize("mode", ["fail", "refused token"])
async def test_a_revocation_the_session_service_does_not_confirm_is_unavailable(sessions, mode):
    sessions.mode = "fail" if mode == "fail" else "ok"
    session_client = SessionClient(sessions.url, INTERNAL_TOKEN if mode == "fail" else "wrong", 0.5)
    try:
        with pytest.raises(TesseraError) as refused:
            await session_client.revoke(uuid.uuid4())
    finally:
        await session_client.close()
    assert refused.value.code == "service_unavailable"
    # Retry-After comes with every 503 answer from error_response (test_error_responses.py).


async def test_a_session_service_that_hangs_is_given_up_after_the_timeout(client, sessions):
    sessions.mode = "hang"
    started = time.monotonic()
    with pytest.raises(TesseraError, match="service_unavailable"):
        await client.revoke(uuid.uuid4())
    assert time.monotonic() - started < 2


async def test_a_session_service_that_is_not_there_is_unavailable():
    session_client = SessionClient(f"http://127.0.0.1:{free_port()}", INTERNAL_TOKEN, 0.5)
    try:
        with pytest.raises(TesseraError, match="service_unavailable"):
            await session_client.revoke(uuid.uuid4())
    finally:
        await session_client.close()


async def test_the_session_list_is_read_with_the_internal_token_and_refused_as_unavailable(
    client, sessions
):
    sessions.listed = [
        {
            "id": "fam-1",
            "device_id": "phone",
            "app_id": "ios",
            "created_at": "2026-12-01T10:00:00Z",
            "last_used_at": "2026-12-01T10:05:00Z",
            "ip": "203.0.113.9",
            "user_agent": "TesseraApp/1.0",
        }
    ]
    found = await client.sessions(uuid.uuid4())
    sessions.mode = "fail"
    with pytest.raises(TesseraError) as refused:
        await client.sessions(uuid.uuid4())

    assert [(s.id, s.device_id, s.app_id, s.created_at.isoformat()) for s in found] == [
        ("fam-1", "phone", "ios", "2026-12-01T10:00:00+00:00")
    ]
    assert refused.value.code == Code.SERVICE_UNAVAILABLE
