"""A user's sessions on in-memory ports: token checks, logout, ending one session, and the
revocation identity asks for (challenges closed, the credential floor raised)."""

import pytest
from msgspec.structs import replace

from tessera_session.service.sign_in import MfaRequired
from tessera_session.service.start import Tokens
from tessera_shared.errors import TesseraError

from .fakes import CLIENT, CODE, PASSWORD, Suite

USER = "jane@example.com"


async def refused(call, code: str) -> None:
    with pytest.raises(TesseraError) as caught:
        await call
    assert caught.value.code == code


async def session_on(suite: Suite, device: str) -> Tokens:
    tokens = await suite.sign_in.authenticate(USER, PASSWORD, replace(CLIENT, device_id=device))
    assert isinstance(tokens, Tokens)
    return tokens


async def test_revoking_every_session_closes_the_open_challenges_so_none_completes_later():
    suite = Suite()
    user_id = suite.identity.add(USER)
    await session_on(suite, "laptop")
    suite.identity.accounts[USER] = replace(suite.identity.accounts[USER], mfa_mode="email")
    step = await suite.sign_in.authenticate(USER, PASSWORD, CLIENT)
    assert isinstance(step, MfaRequired)

    assert await suite.sessions.revoke(user_id, None) == 1

    assert not suite.challenges.open_ones
    late = suite.second_factor.verify(step.challenge_token, CODE, recovery=False, client=CLIENT)
    await refused(late, "challenge_invalid")
    assert not suite.families.of(user_id)


async def test_logout_all_ends_the_sessions_and_closes_the_challenges_too():
    suite = Suite()
    user_id = suite.identity.add(USER, "totp")
    await suite.sign_in.authenticate(USER, PASSWORD, CLIENT)

    await suite.sessions.logout_all(user_id)

    assert not suite.challenges.open_ones


async def test_revoking_keeps_the_session_named_to_keep():
    suite = Suite()
    user_id = suite.identity.add(USER)
    kept = await session_on(suite, "laptop")
    ended = await session_on(suite, "phone")

    assert await suite.sessions.revoke(user_id, kept.session_id) == 1

    assert await suite.sessions.current(kept.access_token)
    await refused(suite.sessions.current(ended.access_token), "token_invalid")


async def test_a_revocation_with_a_credential_version_refuses_sign_ins_of_older_passwords():
    suite = Suite()
    user_id = suite.identity.add(USER, credential_version=3)

    await suite.sessions.revoke(user_id, None, credential_version=4)

    await refused(suite.sign_in.authenticate(USER, PASSWORD, CLIENT), "invalid_credentials")
    assert not suite.families.of(user_id)
    suite.identity.accounts[USER] = replace(suite.identity.accounts[USER], credential_version=4)
    assert isinstance(await suite.sign_in.authenticate(USER, PASSWORD, CLIENT), Tokens)


async def test_a_revocation_without_a_version_leaves_the_floor_alone():
    suite = Suite()
    user_id = suite.identity.add(USER)

    await suite.sessions.revoke(user_id, None)

    assert suite.floor.versions == {}


async def test_after_logout_the_access_token_is_no_longer_current_but_still_reads():
    suite = Suite()
    suite.identity.add(USER)
    tokens = await session_on(suite, "phone")
    claims = await suite.sessions.current(tokens.access_token)

    await suite.sessions.logout(claims)

    await refused(suite.sessions.current(tokens.access_token), "token_invalid")
    assert await suite.sessions.introspect(tokens.access_token) == (claims, False)
    assert await suite.sessions.introspect("at-forged") == (None, False)


async def test_the_session_list_shows_each_device_and_ending_one_keeps_the_others():
    suite = Suite()
    user_id = suite.identity.add(USER)
    laptop = await session_on(suite, "laptop")
    phone = await session_on(suite, "phone")

    listed = await suite.sessions.sessions_of(user_id)
    assert {(s.id, s.device_id) for s in listed} == {
        (laptop.session_id, "laptop"),
        (phone.session_id, "phone"),
    }

    await suite.sessions.end(user_id, laptop.session_id)

    assert [s.id for s in await suite.sessions.sessions_of(user_id)] == [phone.session_id]
    await refused(suite.sessions.end(user_id, laptop.session_id), "session_not_found")


async def test_another_users_session_cannot_be_ended():
    suite = Suite()
    suite.identity.add(USER)
    other = suite.identity.add("other@example.com")
    tokens = await session_on(suite, "phone")

    await refused(suite.sessions.end(other, tokens.session_id), "session_not_found")

    assert await suite.sessions.current(tokens.access_token)
