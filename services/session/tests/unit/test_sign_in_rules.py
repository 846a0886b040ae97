"""The sign-in use cases on in-memory ports: which step a password leads to, what the second
factor spends, and what a password reset in flight refuses (Redis paths: integration tests)."""

import pytest
from msgspec.structs import replace
from prometheus_client import REGISTRY

from tessera_session.domain.challenge import MAX_WRONG_CODES
from tessera_session.service.sign_in import MfaRequired
from tessera_session.service.start import Tokens
from tessera_shared.contracts import internal
from tessera_shared.errors import TesseraError

from .fakes import ACCESS_TTL_S, CLIENT, CODE, PASSWORD, RECOVERY_CODE, Suite

USER = "jane@example.com"


def logins(result: str) -> float:
    return REGISTRY.get_sample_value("tessera_logins_total", {"result": result}) or 0.0


async def refused(call, code: str) -> None:
    with pytest.raises(TesseraError) as caught:
        await call
    assert caught.value.code == code


async def challenge_of(suite: Suite, mfa_mode: str = "email") -> tuple[str, str]:
    """(user id, challenge token) of a password sign-in of an account with `mfa_mode`."""
    user_id = suite.identity.add(USER, mfa_mode)
    step = await suite.sign_in.authenticate(USER, PASSWORD, CLIENT)
    assert isinstance(step, MfaRequired)
    return user_id, step.challenge_token


async def test_a_password_without_mfa_starts_a_session_for_the_device_and_app():
    suite = Suite()
    user_id = suite.identity.add(USER)
    before = logins("success")

    tokens = await suite.sign_in.authenticate(USER, PASSWORD, CLIENT)

    assert isinstance(tokens, Tokens)
    assert tokens.user_id == user_id
    assert tokens.expires_in == ACCESS_TTL_S - 1
    claims = await suite.sessions.current(tokens.access_token)
    assert (claims.sub, claims.did, claims.aid, claims.amr) == (
        user_id,
        "phone",
        "default",
        ["pwd"],
    )
    [family] = suite.families.of(user_id)
    assert (family.new.family_id, family.new.amr) == (claims.sid, "pwd")
    assert not suite.challenges.open_ones
    assert logins("success") == before + 1


@pytest.mark.parametrize("mode", ["email", "sms"])
async def test_a_password_with_a_code_factor_opens_a_challenge_and_sends_a_code(mode):
    suite = Suite()
    user_id = suite.identity.add(USER, mode)

    step = await suite.sign_in.authenticate(USER, PASSWORD, CLIENT)

    assert isinstance(step, MfaRequired)
    assert (step.mfa_mode, step.user_id, step.totp_setup_required) == (mode, user_id, False)
    assert not suite.families.of(user_id)
    assert [key[0] for key in suite.challenges.open_ones] == [user_id]
    [sent] = suite.identity.calls_of(internal.CodeRequest)
    assert (str(sent.user_id), sent.client_ip) == (user_id, CLIENT.ip)


async def test_a_totp_account_gets_a_challenge_and_no_code_is_sent():
    suite = Suite()
    suite.identity.add(USER, "totp")

    step = await suite.sign_in.authenticate(USER, PASSWORD, CLIENT)

    assert isinstance(step, MfaRequired)
    assert step.mfa_mode == "totp"
    assert not suite.identity.calls_of(internal.CodeRequest)


async def test_a_policy_requiring_totp_sends_an_account_without_mfa_to_set_it_up():
    suite = Suite(require_totp=True)
    suite.identity.add(USER)

    step = await suite.sign_in.authenticate(USER, PASSWORD, CLIENT)

    assert isinstance(step, MfaRequired)
    assert (step.mfa_mode, step.totp_setup_required) == ("totp", True)


async def test_a_wrong_password_is_refused_and_stores_nothing():
    suite = Suite()
    suite.identity.add(USER, "email")
    before = logins("failed")

    await refused(suite.sign_in.authenticate(USER, "wrong", CLIENT), "invalid_credentials")

    assert not suite.families.by_id
    assert not suite.challenges.open_ones
    assert logins("failed") == before + 1


async def test_a_sign_in_checked_against_a_replaced_password_ends_its_new_session():
    suite = Suite()
    user_id = suite.identity.add(USER, credential_version=1)
    await suite.floor.raise_to(user_id, 2)

    await refused(suite.sign_in.authenticate(USER, PASSWORD, CLIENT), "invalid_credentials")

    assert not suite.families.of(user_id)


async def test_a_challenge_for_a_replaced_password_is_never_handed_out_nor_a_code_sent():
    suite = Suite()
    user_id = suite.identity.add(USER, "email", credential_version=1)
    await suite.floor.raise_to(user_id, 2)

    await refused(suite.sign_in.authenticate(USER, PASSWORD, CLIENT), "invalid_credentials")

    assert not suite.identity.calls_of(internal.CodeRequest)


async def test_the_right_code_turns_the_challenge_into_a_session_once():
    suite = Suite()
    user_id, challenge = await challenge_of(suite)

    tokens = await suite.second_factor.verify(challenge, CODE, recovery=False, client=CLIENT)

    claims = await suite.sessions.current(tokens.access_token)
    assert (claims.sub, claims.amr) == (user_id, ["pwd", "otp"])
    assert not suite.challenges.open_ones
    again = suite.second_factor.verify(challenge, CODE, recovery=False, client=CLIENT)
    await refused(again, "challenge_invalid")
    assert len(suite.families.of(user_id)) == 1


async def test_a_totp_challenge_is_checked_by_identity_as_totp():
    suite = Suite()
    _, challenge = await challenge_of(suite, "totp")

    tokens = await suite.second_factor.verify(challenge, CODE, recovery=False, client=CLIENT)

    assert (await suite.sessions.current(tokens.access_token)).amr == ["pwd", "totp"]
    assert len(suite.identity.calls_of(internal.TotpCheck)) == 1
    assert not suite.identity.calls_of(internal.CodeCheck)


async def test_wrong_codes_spend_attempts_until_the_last_one_ends_the_challenge():
    suite = Suite()
    _, challenge = await challenge_of(suite)

    for _ in range(MAX_WRONG_CODES):
        wrong = suite.second_factor.verify(challenge, "000000", recovery=False, client=CLIENT)
        await refused(wrong, "otp_invalid")

    right = suite.second_factor.verify(challenge, CODE, recovery=False, client=CLIENT)
    await refused(right, "challenge_invalid")
    assert len(suite.identity.calls_of(internal.CodeCheck)) == MAX_WRONG_CODES


async def test_identity_being_down_gives_the_attempt_back():
    suite = Suite()
    user_id, challenge = await challenge_of(suite)
    suite.identity.down = True

    for _ in range(MAX_WRONG_CODES + 1):
        down = suite.second_factor.verify(challenge, CODE, recovery=False, client=CLIENT)
        await refused(down, "service_unavailable")

    [state] = suite.challenges.open_ones.values()
    assert (state.wrong, state.pending) == (0, 0)
    suite.identity.down = False
    await suite.second_factor.verify(challenge, CODE, recovery=False, client=CLIENT)
    assert len(suite.families.of(user_id)) == 1


@pytest.mark.parametrize(
    "other", [{"device_id": "laptop"}, {"app_id": "other-app"}], ids=["device", "app"]
)
async def test_a_challenge_of_another_device_or_app_is_refused_without_asking_identity(other):
    suite = Suite()
    _, challenge = await challenge_of(suite)
    elsewhere = replace(CLIENT, **other)

    wrong_place = suite.second_factor.verify(challenge, CODE, recovery=False, client=elsewhere)
    await refused(wrong_place, "challenge_invalid")

    assert not suite.identity.calls_of(internal.CodeCheck)
    [state] = suite.challenges.open_ones.values()
    assert (state.wrong, state.pending) == (0, 0)


async def test_a_forged_challenge_token_is_refused_as_challenge_invalid():
    suite = Suite()
    await challenge_of(suite)

    forged = suite.second_factor.verify("ct-forged", CODE, recovery=False, client=CLIENT)
    await refused(forged, "challenge_invalid")


async def test_an_unnamed_device_completes_the_challenge_on_its_own_device():
    suite = Suite()
    _, challenge = await challenge_of(suite)
    unnamed = replace(CLIENT, device_id="")

    tokens = await suite.second_factor.verify(challenge, CODE, recovery=False, client=unnamed)

    assert (await suite.sessions.current(tokens.access_token)).did == CLIENT.device_id


async def test_recovering_signs_in_with_a_recovery_code_and_turns_mfa_off():
    suite = Suite()
    user_id, challenge = await challenge_of(suite)

    tokens = await suite.second_factor.recover(challenge, RECOVERY_CODE, CLIENT)

    assert (await suite.sessions.current(tokens.access_token)).amr == ["pwd", "recovery"]
    [use] = suite.identity.calls_of(internal.RecoveryCodeUse)
    assert (str(use.user_id), use.disable_mfa) == (user_id, True)


async def test_a_recovery_code_given_to_verify_keeps_mfa_on():
    suite = Suite()
    _, challenge = await challenge_of(suite)

    await suite.second_factor.verify(challenge, RECOVERY_CODE, recovery=True, client=CLIENT)

    [use] = suite.identity.calls_of(internal.RecoveryCodeUse)
    assert use.disable_mfa is False


async def test_a_sign_in_past_the_cap_ends_the_least_recently_used_session_and_counts_it():
    suite = Suite(max_per_user=2)
    user_id = suite.identity.add(USER)
    for device in ("phone", "laptop"):
        suite.clock.now += 1
        await suite.sign_in.authenticate(USER, PASSWORD, replace(CLIENT, device_id=device))
    capped = REGISTRY.get_sample_value("tessera_sessions_capped_total") or 0.0

    suite.clock.now += 1
    await suite.sign_in.authenticate(USER, PASSWORD, replace(CLIENT, device_id="tablet"))

    assert sorted(f.new.device_id for f in suite.families.of(user_id)) == ["laptop", "tablet"]
    assert REGISTRY.get_sample_value("tessera_sessions_capped_total") == capped + 1
