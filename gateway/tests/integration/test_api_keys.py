import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

import pytest
from litestar.testing import AsyncTestClient

from tessera_gateway.adapters.api_key_store import RedisApiKeyStore
from tessera_gateway.api_keys import (
    ApiKeyStoreUnavailableError,
    InvalidKeyNameError,
    hash_key,
    new_key,
)
from tessera_gateway.app import create_app
from tessera_gateway.bootstrap import create_api_key
from tessera_gateway.config import GatewaySettings
from tessera_shared.redis import make_redis

REGISTRATION = "/v1/users/initiate-registration"


@pytest.fixture
def prefix(test_id):
    return f"t{test_id}:apikey:"


@pytest.fixture
def settings(redis_url, prefix, test_id, identity_upstream, session_upstream):
    return GatewaySettings(
        redis_url=redis_url,
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
        api_key_prefix=prefix,
        rate_limit_prefix=f"t{test_id}:rl:",
    )


@pytest.fixture
async def redis(redis_url):
    client = make_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
async def store(redis, prefix):
    return RedisApiKeyStore(redis, prefix)


@pytest.fixture
async def client(settings):
    async with AsyncTestClient(create_app(settings)) as test_client:
        yield test_client


async def keys_under(redis, prefix):
    return [key async for key in redis.scan_iter(match=f"{prefix}*")]


# --- the store against Redis ---


async def test_a_created_key_verifies_and_redis_holds_only_its_hash(store, redis, prefix):
    plain, record = await store.create("ios-app")
    assert await store.verify(plain) == record
    assert record.name == "ios-app"
    assert record.revoked_at is None
    stored = {key: await redis.dump(key) for key in await keys_under(redis, prefix)}
    assert any(hash_key(plain).encode() in key for key in stored)
    assert all(
        plain.encode() not in key and plain.encode() not in value for key, value in stored.items()
    )


async def test_a_well_formed_key_that_was_never_issued_does_not_verify(store):
    await store.create("web")
    assert await store.verify(new_key()) is None


async def test_a_revoked_key_stops_verifying_but_stays_listed_with_its_revocation_time(store):
    plain, record = await store.create("android")
    revoked = await store.revoke(record.key_id)
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert await store.verify(plain) is None
    assert await store.list() == [revoked]


async def test_revoking_twice_keeps_the_first_revocation_time(redis, prefix):
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    store = RedisApiKeyStore(redis, prefix, clock=lambda: now)
    _, record = await store.create("web")
    first = await store.revoke(record.key_id)
    now += timedelta(days=1)
    again = await store.revoke(record.key_id)
    assert first is not None
    assert again is not None
    assert again.revoked_at == first.revoked_at == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def test_revoking_an_unknown_key_id_changes_nothing(store, redis, prefix):
    _, record = await store.create("web")
    before = sorted(await keys_under(redis, prefix))
    assert await store.revoke("tsk_unknown0") is None
    assert sorted(await keys_under(redis, prefix)) == before
    assert await store.list() == [record]


async def test_keys_are_listed_oldest_first_with_their_names(redis, prefix):
    times = iter(datetime(2024, 1, day, tzinfo=UTC) for day in (3, 1, 2))
    store = RedisApiKeyStore(redis, prefix, clock=lambda: next(times))
    for name in ("third", "first", "second"):
        await store.create(name)
    assert [r.name for r in await store.list()] == ["first", "second", "third"]


async def test_api_keys_never_expire(store, redis, prefix):
    _, record = await store.create("web")
    await store.revoke(record.key_id)
    keys = await keys_under(redis, prefix)
    assert len(keys) == 3
    assert [await redis.ttl(key) for key in keys] == [-1, -1, -1]


async def test_an_index_entry_pointing_at_another_record_does_not_verify(store, redis, prefix):
    plain, _ = await store.create("first")
    _, other = await store.create("second")
    [index] = [k for k in await keys_under(redis, prefix) if hash_key(plain).encode() in k]
    await redis.set(index, other.key_id)
    assert await store.verify(plain) is None


async def test_an_unusable_name_issues_no_key(store, redis, prefix):
    with pytest.raises(InvalidKeyNameError):
        await store.create("  ")
    assert await keys_under(redis, prefix) == []


async def test_create_api_key_issues_a_key_the_gateway_accepts(settings, store):
    plain = await create_api_key(settings, "dev-runner")
    record = await store.verify(plain)
    assert record is not None
    assert record.name == "dev-runner"


async def test_the_store_says_it_is_unavailable_when_redis_is_down(own_redis, prefix):
    redis = make_redis(own_redis.url())
    try:
        store = RedisApiKeyStore(redis, prefix)
        plain, _ = await store.create("web")
        own_redis.stop()
        with pytest.raises(ApiKeyStoreUnavailableError):
            await store.verify(plain)
    finally:
        await redis.aclose()


# --- enforcement in the gateway ---


@pytest.mark.parametrize(
    "path",
    ["/v1/users/initiate-registration", "/v1/users/verify-registration", "/v1/users/resend-code"],
)
async def test_a_registration_request_without_a_key_is_refused_in_the_callers_language(
    client, identity_upstream, path
):
    answer = await client.post(path, content=b"{}", headers={"accept-language": "de"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "api_key_missing"
    assert answer.json()["message"] == "Ein API-Schlüssel ist erforderlich (Header X-API-Key)."
    assert identity_upstream.seen == []


@pytest.mark.parametrize("wrong", ["k", "tsk_" + "A" * 43], ids=["malformed", "never-issued"])
async def test_a_registration_request_with_a_wrong_key_is_refused(
    client, store, identity_upstream, wrong
):
    await store.create("web")
    answer = await client.post(
        REGISTRATION, content=b"{}", headers={"x-api-key": wrong, "accept-language": "fr"}
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "api_key_invalid"
    assert answer.json()["message"] == "La clé d’API n’est pas valide."
    assert identity_upstream.seen == []


async def test_a_registration_request_with_a_revoked_key_is_refused(
    client, store, identity_upstream
):
    plain, record = await store.create("web")
    await store.revoke(record.key_id)
    answer = await client.post(REGISTRATION, content=b"{}", headers={"x-api-key": plain})
    assert answer.status_code == 401
    assert answer.json()["code"] == "api_key_invalid"
    assert identity_upstream.seen == []


async def test_a_registration_request_with_a_valid_key_reaches_identity_with_the_key(
    client, store, identity_upstream
):
    plain, _ = await store.create("web")
    answer = await client.post(
        REGISTRATION,
        content=b'{"a": 1}',
        headers={"x-api-key": plain, "content-type": "application/json"},
    )
    assert answer.status_code == 201
    [seen] = identity_upstream.seen
    assert seen.path == REGISTRATION
    assert seen.headers["x-api-key"] == plain
    assert identity_upstream.bodies == [b'{"a": 1}']


async def test_a_key_of_another_prefix_is_not_valid_here(client, redis, identity_upstream):
    plain, _ = await RedisApiKeyStore(redis, "elsewhere:apikey:").create("web")
    answer = await client.post(REGISTRATION, content=b"{}", headers={"x-api-key": plain})
    assert answer.status_code == 401
    assert identity_upstream.seen == []


@pytest.mark.parametrize(
    ("path", "upstream"),
    [("/v1/authenticate", "session"), ("/v1/users/password-reset", "identity")],
)
async def test_routes_other_than_registration_need_no_key(
    client, identity_upstream, session_upstream, path, upstream
):
    answer = await client.post(path, content=b"{}", headers={"content-type": "application/json"})
    assert answer.status_code == 201
    seen = {"identity": identity_upstream, "session": session_upstream}[upstream].seen
    assert [r.path for r in seen] == [path]


async def test_a_key_cannot_be_checked_while_redis_is_down_so_the_answer_is_503(
    own_redis, test_id, identity_upstream, session_upstream
):
    settings = GatewaySettings(
        redis_url=own_redis.url(),
        identity_url=identity_upstream.url,
        session_url=session_upstream.url,
        api_key_prefix=f"t{test_id}:apikey:",
    )
    plain = await create_api_key(settings, "web")
    async with AsyncTestClient(create_app(settings)) as client:
        own_redis.stop()
        answer = await client.post(
            REGISTRATION, content=b"{}", headers={"x-api-key": plain, "accept-language": "it"}
        )
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"
    assert identity_upstream.seen == []


# --- the operator command ---


async def run_cli(env, *args):
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tessera_gateway",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
def cli_env(redis_url, prefix):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_GATEWAY_")}
    return env | {"TESSERA_GATEWAY_REDIS_URL": redis_url, "TESSERA_GATEWAY_API_KEY_PREFIX": prefix}


async def test_the_operator_creates_lists_and_revokes_a_key_from_the_command_line(cli_env, store):
    status, out, err = await run_cli(cli_env, "api-keys", "create", "ios app")
    assert status == 0, err
    plain = out.splitlines()[-1]
    record = await store.verify(plain)
    assert record is not None
    assert record.name == "ios app"
    assert record.key_id in err

    status, out, _ = await run_cli(cli_env, "api-keys", "list")
    assert status == 0
    [header, row] = out.splitlines()
    assert header.split("\t")[:2] == ["KEY ID", "STATUS"]
    assert row.split("\t")[:2] == [record.key_id, "active"]
    assert row.endswith("\tios app")
    assert plain not in out

    status, out, _ = await run_cli(cli_env, "api-keys", "revoke", record.key_id)
    assert status == 0
    assert await store.verify(plain) is None
    status, out, _ = await run_cli(cli_env, "api-keys", "list")
    assert out.splitlines()[1].split("\t")[:2] == [record.key_id, "revoked"]


async def test_revoking_an_unknown_key_id_from_the_command_line_fails(cli_env):
    status, _, err = await run_cli(cli_env, "api-keys", "revoke", "tsk_unknown0")
    assert status == 1
    assert "tsk_unknown0" in err


async def test_a_configuration_error_stops_the_command_with_one_line(cli_env):
    env = cli_env | {"TESSERA_GATEWAY_UPSTREAM_TIMEOUT_S": "secret-looking"}
    status, out, err = await run_cli(env, "api-keys", "list")
    assert status == 2
    assert out == ""
    [line] = err.splitlines()
    assert "TESSERA_GATEWAY_UPSTREAM_TIMEOUT_S" in line
    assert "secret-looking" not in line


async def test_revoking_something_that_is_not_a_key_id_is_a_usage_error(cli_env):
    status, _, err = await run_cli(cli_env, "api-keys", "revoke", "*")
    assert status == 2
    assert "not a key id" in err


async def test_creating_a_key_with_an_unusable_name_issues_nothing(cli_env, store):
    status, out, err = await run_cli(cli_env, "api-keys", "create", " ")
    assert status == 2
    assert out == ""
    assert "invalid name" in err
    assert await store.list() == []
