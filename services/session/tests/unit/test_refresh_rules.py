"""Refreshing on in-memory ports: what the service answers for each rotation outcome (the grace
rule's straggler, reuse, a malformed token); the Lua rotation itself: integration tests."""

import pytest
from msgspec.structs import replace
from prometheus_client import REGISTRY

from tessera_session.service.start import Tokens
from tessera_shared.errors import TesseraError

from .fakes import CLIENT, GRACE_S, Suite

USER_ID = "3f1c2b9e-5a41-4a4e-9a43-3b1f0c6f1e11"


def refreshes(result: str) -> float:
    return REGISTRY.get_sample_value("tessera_refreshes_total", {"result": result}) or 0.0


async def signed_in(suite: Suite) -> Tokens:
    return await suite.sign_in.starter.start(USER_ID, ["pwd"], CLIENT)


async def refused(suite: Suite, token: str | None, client=CLIENT) -> None:
    with pytest.raises(TesseraError) as caught:
        await suite.refresh.refresh(token, client)
    assert caught.value.code == "refresh_token_invalid"


async def test_the_current_token_rotates_to_a_new_one_of_the_same_session():
    suite = Suite()
    tokens = await signed_in(suite)
    before = refreshes("rotated")

    fresh = await suite.refresh.refresh(tokens.refresh_token, CLIENT)

    assert fresh.refresh_token != tokens.refresh_token
    assert fresh.session_id == tokens.session_id
    claims = await suite.sessions.current(fresh.access_token)
    assert (claims.sid, claims.amr, claims.did) == (tokens.session_id, ["pwd"], "phone")
    assert refreshes("rotated") == before + 1


@pytest.mark.parametrize("behind", [1, 2])
async def test_a_straggler_inside_the_grace_window_gets_the_current_token(behind):
    suite = Suite()
    tokens = await signed_in(suite)
    chain = [tokens]
    for _ in range(behind):
        chain.append(await suite.refresh.refresh(chain[-1].refresh_token, CLIENT))
    suite.clock.now += GRACE_S
    before = refreshes("replayed")

    late = await suite.refresh.refresh(tokens.refresh_token, CLIENT)

    assert late.refresh_token == chain[-1].refresh_token
    assert await suite.sessions.current(late.access_token)
    assert not suite.events.reuse
    assert refreshes("replayed") == before + 1


async def test_a_token_presented_after_its_grace_window_revokes_the_session_and_reports_reuse():
    suite = Suite()
    tokens = await signed_in(suite)
    fresh = await suite.refresh.refresh(tokens.refresh_token, CLIENT)
    suite.clock.now += GRACE_S + 1
    reused = REGISTRY.get_sample_value("tessera_refresh_reuse_detected_total") or 0.0

    await refused(suite, tokens.refresh_token, replace(CLIENT, device_id=""))

    assert suite.events.reuse == [
        {
            "user_id": tokens.user_id,
            "family_id": tokens.session_id,
            "device_id": "phone",
            "app_id": "default",
        }
    ]
    assert not suite.families.by_id
    await refused(suite, fresh.refresh_token)
    assert REGISTRY.get_sample_value("tessera_refresh_reuse_detected_total") == reused + 1


async def test_a_token_three_rotations_back_is_reuse_even_inside_the_window():
    suite = Suite()
    tokens = await signed_in(suite)
    current = tokens
    for _ in range(3):
        current = await suite.refresh.refresh(current.refresh_token, CLIENT)

    await refused(suite, tokens.refresh_token)

    assert len(suite.events.reuse) == 1


@pytest.mark.parametrize("raw", [None, "", "not-a-token", "a.b.c"])
async def test_a_malformed_token_is_refused_and_counted_without_a_lookup(raw):
    suite = Suite()
    await signed_in(suite)
    before = refreshes("refused")

    await refused(suite, raw)

    assert len(suite.families.by_id) == 1
    assert refreshes("refused") == before + 1


@pytest.mark.parametrize(
    "other", [{"device_id": "laptop"}, {"app_id": "other-app"}], ids=["device", "app"]
)
async def test_a_token_of_another_device_or_app_is_refused_and_the_session_kept(other):
    suite = Suite()
    tokens = await signed_in(suite)

    await refused(suite, tokens.refresh_token, replace(CLIENT, **other))

    assert not suite.events.reuse
    assert await suite.refresh.refresh(tokens.refresh_token, CLIENT)


async def test_an_unnamed_device_refreshes_as_the_sessions_own_device():
    suite = Suite()
    tokens = await signed_in(suite)

    fresh = await suite.refresh.refresh(tokens.refresh_token, replace(CLIENT, device_id=""))

    assert (await suite.sessions.current(fresh.access_token)).did == "phone"
