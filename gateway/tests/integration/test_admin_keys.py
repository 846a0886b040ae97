"""Admin keys (`tsa_`): the store against real Redis, the gateway's `/admin/` check in front of
the identity stand-in, and the operator command."""

import asyncio
import os
import sys

import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from litestar.testing import AsyncTestClient

from tessera_gateway.adapters.api_key_store import RedisApiKeyStore
from tessera_gateway.api_keys import (
    ALL_SCOPES,
    InvalidScopeError,
    KeyKind,
    hash_key,
    new_key,
)
from tessera_gateway.app import create_app
from tessera_gateway.bootstrap import create_admin_key
from tessera_shared.contracts.admin import AdminScope
from tessera_shared.redis import make_redis
from tessera_shared.testing.tokens import access_claims

ADMIN_PATH = "/admin/v1/users"
INTERNAL_TOKEN = "internal-test-token-of-at-least-32-chars"
READ_AND_AUDIT = (AdminScope.USERS_READ, AdminScope.AUDIT_READ)


@pytest.fixture
def prefix(test_id):
    return f"t{test_id}:apikey:"


@pytest.fixture
def settings(gateway_settings, prefix):
    return gateway_settings(api_key_prefix=prefix, internal_token=INTERNAL_TOKEN)


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


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def keys_under(redis, prefix):
    return [key async for key in redis.scan_iter(match=f"{prefix}*")]


# --- the store against Redis ---


async def test_an_admin_key_verifies_as_admin_with_its_scopes_and_redis_holds_only_its_hash(
    store, redis, prefix
):
    plain, record = await store.create_admin("ops", [AdminScope.AUDIT_READ, AdminScope.USERS_READ])
    assert plain.startswith("tsa_")
    assert record.key_id == plain[:12]
    assert record.kind == KeyKind.ADMIN
    assert record.scopes == READ_AND_AUDIT
    assert await store.verify_admin(plain) == record
    stored = {key: await redis.dump(key) for key in await keys_under(redis, prefix)}
    assert any(hash_key(plain).encode() in key for key in stored)
    assert all(
        plain.encode() not in key and plain.encode() not in value for key, value in stored.items()
    )


async def test_a_client_key_is_no_admin_key_and_an_admin_key_is_no_client_key(store):
    client_key, client_record = await store.create("web")
    admin_key, admin_record = await store.create_admin("ops", ALL_SCOPES)
    assert await store.verify(client_key) == client_record
    assert await store.verify_admin(admin_key) == admin_record
    assert await store.verify_admin(client_key) is None
    assert await store.verify(admin_key) is None


async def test_a_record_whose_kind_disagrees_with_its_prefix_does_not_verify(store, redis, prefix):
    plain, record = await store.create_admin("ops", ALL_SCOPES)
    await redis.hset(f"{prefix}{{apikeys}}:key:{record.key_id}", "kind", "client")
    assert await store.verify_admin(plain) is None
    assert await store.verify(plain) is None


async def test_a_record_written_before_admin_keys_existed_is_a_client_key(store, redis, prefix):
    plain = new_key()
    key_id = plain[:12]
    await redis.hset(
        f"{prefix}{{apikeys}}:key:{key_id}",
        mapping={"name": "old", "created_at": "2024-01-01T00:00:00+00:00", "hash": hash_key(plain)},
    )
    await redis.set(f"{prefix}{{apikeys}}:hash:{hash_key(plain)}", key_id)
    await redis.sadd(f"{prefix}{{apikeys}}:ids", key_id)
    record = await store.verify(plain)
    assert record is not None
    assert (record.kind, record.scopes) == (KeyKind.CLIENT, ())
    assert await store.list() == [record]


async def test_a_scope_this_version_does_not_know_is_left_out_when_read(store, redis, prefix):
    plain, record = await store.create_admin("ops", [AdminScope.USERS_READ])
    await redis.hset(f"{prefix}{{apikeys}}:key:{record.key_id}", "scopes", "users:read root")
    verified = await store.verify_admin(plain)
    assert verified is not None
    assert verified.scopes == (AdminScope.USERS_READ,)


async def test_a_revoked_admin_key_stops_verifying_and_stays_listed_beside_client_keys(store):
    _, client_record = await store.create("web")
    plain, record = await store.create_admin("ops", [AdminScope.USERS_READ])
    revoked = await store.revoke(record.key_id)
    assert revoked is not None
    assert revoked.revoked_at is not None
    assert revoked.scopes == (AdminScope.USERS_READ,)
    assert await store.verify_admin(plain) is None
    assert sorted(await store.list(), key=lambda r: r.kind) == [revoked, client_record]


async def test_an_admin_key_without_a_scope_is_not_issued(store, redis, prefix):
    with pytest.raises(InvalidScopeError):
        await store.create_admin("ops", [])
    assert await keys_under(redis, prefix) == []


# --- the /admin/ route ---


async def test_an_admin_request_without_a_bearer_token_is_401_unauthorized_with_the_challenge(
    client, store, identity_upstream
):
    client_key, _ = await store.create("web")
    for headers in ({}, {"x-api-key": client_key}):
        answer = await client.get(ADMIN_PATH, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["code"] == "unauthorized"
        assert answer.headers["www-authenticate"] == "Bearer"
    assert identity_upstream.seen == []


@pytest.mark.parametrize("kind", ["access-token", "client-key", "garbage", "never-issued"])
async def test_a_bearer_that_is_no_admin_key_is_401_admin_key_invalid(
    client, store, identity_upstream, kind
):
    client_key, _ = await store.create("web")
    token = {
        "access-token": jwt.encode(
            access_claims(),
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
            headers={"kid": "k1", "typ": "at+jwt"},
        ),
        "client-key": client_key,
        "garbage": "tsa_",
        "never-issued": new_key(KeyKind.ADMIN),
    }[kind]
    answer = await client.get(ADMIN_PATH, headers={**bearer(token), "accept-language": "de"})
    assert answer.status_code == 401
    assert answer.json()["code"] == "admin_key_invalid"
    assert identity_upstream.seen == []


async def test_a_revoked_admin_key_is_401_admin_key_invalid(client, store, identity_upstream):
    plain, record = await store.create_admin("ops", ALL_SCOPES)
    await store.revoke(record.key_id)
    answer = await client.get(ADMIN_PATH, headers=bearer(plain))
    assert answer.status_code == 401
    assert answer.json()["code"] == "admin_key_invalid"
    assert identity_upstream.seen == []


async def test_an_admin_request_reaches_identity_with_the_keys_id_and_scopes_but_not_the_key(
    client, store, identity_upstream, session_upstream
):
    plain, record = await store.create_admin("ops", READ_AND_AUDIT)
    answer = await client.patch(
        f"{ADMIN_PATH}/6f1c?x=1",
        content=b'{"status": "disabled"}',
        headers={
            **bearer(plain),
            "content-type": "application/json",
            # A client's own claims: replaced by what the gateway checked, never passed on.
            "x-admin-key-id": "tsa_forged00",
            "x-admin-scopes": "users:read users:write sessions:write audit:read",
            "x-internal-token": "guessed",
        },
    )
    assert answer.status_code == 201
    [seen] = identity_upstream.seen
    assert session_upstream.seen == []
    assert seen.path == f"{ADMIN_PATH}/6f1c"
    assert seen.query_string == "x=1"
    assert identity_upstream.bodies == [b'{"status": "disabled"}']
    assert seen.headers.getall("x-admin-key-id") == [record.key_id]
    assert seen.headers.getall("x-admin-scopes") == ["users:read audit:read"]
    assert seen.headers.getall("x-internal-token") == [INTERNAL_TOKEN]
    assert "authorization" not in seen.headers
    assert plain not in str(dict(seen.headers))


async def test_admin_and_internal_headers_a_client_sends_elsewhere_never_pass(
    client, session_upstream
):
    answer = await client.post(
        "/v1/authenticate",
        content=b"{}",
        headers={
            "content-type": "application/json",
            "x-admin-key-id": "tsa_forged00",
            "x-admin-scopes": "users:write",
            "x-internal-token": INTERNAL_TOKEN,
        },
    )
    assert answer.status_code == 201
    [seen] = session_upstream.seen
    assert not {"x-admin-key-id", "x-admin-scopes", "x-internal-token"} & set(
        name.lower() for name in seen.headers
    )


async def test_an_admin_key_cannot_be_checked_while_redis_is_down_so_the_answer_is_503(
    own_redis, gateway_settings, prefix, identity_upstream
):
    settings = gateway_settings(redis_url=own_redis.url(), api_key_prefix=prefix)
    plain = await create_admin_key(settings, "ops")
    async with AsyncTestClient(create_app(settings)) as client:
        own_redis.stop()
        answer = await client.get(ADMIN_PATH, headers=bearer(plain))
    assert answer.status_code == 503
    assert answer.json()["code"] == "service_unavailable"
    assert identity_upstream.seen == []


IDENTITY_DOCUMENT = {
    "openapi": "3.1.0",
    "paths": {
        "/admin/v1/users": {"get": {"responses": {"200": {"description": "users"}}}},
        "/v1/users/me": {"get": {"responses": {"200": {"description": "me"}}}},
    },
}
SESSION_DOCUMENT = {"openapi": "3.1.0", "paths": {}}


async def test_with_the_admin_api_off_every_admin_path_is_404_and_undocumented(
    settings, store, identity_upstream, session_upstream
):
    identity_upstream.openapi = IDENTITY_DOCUMENT
    session_upstream.openapi = SESSION_DOCUMENT
    plain, _ = await store.create_admin("ops", ALL_SCOPES)
    off = msgspec.structs.replace(settings, admin_enabled=False)
    async with AsyncTestClient(create_app(off)) as client:
        for path in (ADMIN_PATH, "/admin/", "/admin/./v1/users/6f1c"):
            answer = await client.get(path, headers=bearer(plain))
            assert answer.status_code == 404, path
            assert answer.json()["code"] == "not_found"
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert identity_upstream.seen == []
    assert "/v1/users/me" in paths
    assert not [path for path in paths if path.startswith("/admin")]
    async with AsyncTestClient(create_app(settings)) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert paths[ADMIN_PATH]["get"]["security"] == [{"AdminKey": []}]


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


async def test_the_operator_creates_a_scoped_admin_key_lists_and_revokes_it(cli_env, store):
    scopes = ["--scope", "audit:read", "--scope", "users:read"]
    status, out, err = await run_cli(cli_env, "api-keys", "create", "--admin", *scopes, "ops")
    assert status == 0, err
    [plain] = out.splitlines()
    record = await store.verify_admin(plain)
    assert record is not None
    assert (record.name, record.scopes) == ("ops", READ_AND_AUDIT)
    assert record.key_id in err

    status, out, _ = await run_cli(cli_env, "api-keys", "list")
    assert status == 0
    [header, row] = out.splitlines()
    assert header.split("\t") == [
        *("KEY ID", "STATUS", "CREATED", "REVOKED", "KIND", "SCOPES", "NAME"),
    ]
    assert row.split("\t")[:2] == [record.key_id, "active"]
    assert row.split("\t")[4:] == ["admin", "users:read audit:read", "ops"]
    assert plain not in out

    status, out, _ = await run_cli(cli_env, "api-keys", "revoke", record.key_id)
    assert status == 0
    assert out.split("\t")[1] == "revoked"
    assert await store.verify_admin(plain) is None


async def test_an_admin_key_named_with_the_name_option_gets_every_scope(cli_env, store):
    status, out, err = await run_cli(cli_env, "api-keys", "create", "--admin", "--name", "ops")
    assert status == 0, err
    record = await store.verify_admin(out.strip())
    assert record is not None
    assert (record.name, record.scopes) == ("ops", ALL_SCOPES)


async def test_a_client_key_may_be_named_with_the_name_option_too(cli_env, store):
    status, out, err = await run_cli(cli_env, "api-keys", "create", "--name", "ios-app")
    assert status == 0, err
    record = await store.verify(out.strip())
    assert record is not None
    assert (record.name, record.kind, record.scopes) == ("ios-app", KeyKind.CLIENT, ())


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--admin", "--scope", "users:delete", "ops"], "unknown scope 'users:delete'"),
        (["--scope", "users:read", "ops"], "--scope is for admin keys"),
        (["--admin"], "give the name once"),
        (["--admin", "--name", "ops", "ops"], "give the name once"),
    ],
    ids=["unknown-scope", "scope-without-admin", "no-name", "two-names"],
)
async def test_a_bad_create_command_is_a_usage_error_that_issues_nothing(
    cli_env, store, args, said
):
    status, out, err = await run_cli(cli_env, "api-keys", "create", *args)
    assert status == 2
    assert out == ""
    assert said in err
    assert await store.list() == []
