"""The admin API and `tessera-admin` through the gateway, and a person's own export and deletion:
what a client sees at once, and what is left in PostgreSQL and Redis."""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid

import psycopg
import redis

from tessera_gateway.bootstrap import create_admin_key
from tessera_shared.contracts.admin import AdminScope
from tessera_shared.testing.personal_data import columns_holding

from .conftest import _gateway_settings
from .test_foundation import call
from .test_mfa import email_code
from .test_registration import PASSWORD, post, registration
from .test_sessions import active_account, authenticate


def admin_call(suite, method: str, path: str, body: dict | None = None, key: str | None = None):
    headers = {"Authorization": f"Bearer {key or suite.admin_key}"}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    return call(f"{suite.gateway_url}{path}", method, data, **headers)


def tessera_admin(suite, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI as an operator runs it, with the key and the gateway from the environment."""
    command = shutil.which("tessera-admin", path=os.path.dirname(sys.executable))
    assert command, "tessera-admin is installed with the identity package"
    env = {
        **os.environ,
        "TESSERA_ADMIN_URL": suite.gateway_url,
        "TESSERA_ADMIN_KEY": suite.admin_key,
    }
    return subprocess.run(
        [command, *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def registered_again(suite, address: str, nth_email: int) -> str:
    """A new registration of `address`, verified with the code of its `nth_email`."""
    _, _, body = post(suite, "/v1/users/initiate-registration", registration(address))
    code = email_code(suite, address, nth_email)
    check = {"user_id": body["user_id"], "credential_type": "email", "otp": code}
    status, _, answer = post(suite, "/v1/users/verify-registration", json.dumps(check).encode())
    assert status == 200, answer
    return str(body["user_id"])


def signed_in(suite, address: str) -> str:
    status, _, body = authenticate(suite, address)
    assert status == 200, body
    return str(body["access_token"])


def me(suite, token: str):
    return call(f"{suite.gateway_url}/v1/users/me", Authorization=f"Bearer {token}")


def test_disabling_with_the_cli_refuses_the_live_token_at_once_and_sign_in_until_enabled(suite):
    address = f"e2e.admin.{uuid.uuid4().hex[:8]}@example.com"
    active_account(suite, address)
    token = signed_in(suite, address)
    assert me(suite, token)[0] == 200

    disabled = tessera_admin(suite, "users", "disable", address)
    refused = me(suite, token)
    sign_in = authenticate(suite, address)
    shown = tessera_admin(suite, "--json", "users", "show", address)
    enabled = tessera_admin(suite, "users", "enable", address)

    assert disabled.returncode == 0, disabled.stderr
    assert "disabled" in disabled.stdout
    assert (refused[0], refused[2]["code"]) == (401, "token_invalid")
    assert (sign_in[0], sign_in[2]["code"]) == (403, "account_disabled")
    assert (json.loads(shown.stdout)["status"], json.loads(shown.stdout)["sessions"]) == (
        "disabled",
        [],
    )
    assert enabled.returncode == 0, enabled.stderr
    assert me(suite, signed_in(suite, address))[0] == 200
    audit = tessera_admin(suite, "--json", "audit", "tail", "--user", address)
    actions = [e["action"] for e in json.loads(audit.stdout)["events"]]
    assert {"account_disabled", "account_enabled", "login_succeeded"} <= set(actions)


def test_an_erased_account_leaves_no_row_or_key_naming_it_and_the_address_registers_anew(suite):
    address = f"e2e.erase.{uuid.uuid4().hex[:8]}@example.com"
    phone = f"+4176{uuid.uuid4().int % 10**7:07d}"
    user_id = active_account(suite, address)
    status, _, body = admin_call(suite, "PATCH", f"/admin/v1/users/{user_id}", {"phone": phone})
    assert status == 200, body
    token = signed_in(suite, address)
    assert authenticate(suite, address, "wrong password")[0] == 401  # counters and audit rows

    status, _, body = admin_call(suite, "DELETE", f"/admin/v1/users/{user_id}")

    assert status == 204, body
    assert me(suite, token)[0] == 401
    with psycopg.connect(suite.env["TESSERA_IDENTITY_DATABASE_URL"]) as conn:
        assert columns_holding(conn, address) == []
        assert columns_holding(conn, phone) == []
    store = redis.Redis.from_url(suite.env["TESSERA_SESSION_REDIS_URL"])
    try:
        for needle in (user_id, address, phone):
            assert list(store.scan_iter(match=f"*{needle}*", count=1000)) == []
    finally:
        store.close()
    status, _, trail = admin_call(suite, "GET", f"/admin/v1/audit?user_id={user_id}")
    assert status == 200
    tombstone = trail["events"][0]
    assert (tombstone["action"], tombstone["ip"]) == ("user_deleted", "")
    assert tombstone["actor"].startswith("admin:tsa_")
    assert registered_again(suite, address, nth_email=2) != user_id


def test_only_an_admin_key_with_the_routes_scope_reaches_the_admin_api(suite):
    address = f"e2e.scope.{uuid.uuid4().hex[:8]}@example.com"
    user_id = active_account(suite, address)
    token = signed_in(suite, address)
    reader = asyncio.run(
        create_admin_key(_gateway_settings(suite.env), "e2e-reader", [AdminScope.USERS_READ])
    )
    disable = f"/admin/v1/users/{user_id}/disable"

    nothing = call(f"{suite.gateway_url}{disable}", "POST", b"")
    client_key = call(f"{suite.gateway_url}{disable}", "POST", b"", **{"X-API-Key": suite.api_key})
    client_bearer = admin_call(suite, "POST", disable, key=suite.api_key)
    user_token = admin_call(suite, "POST", disable, key=token)
    read = admin_call(suite, "GET", f"/admin/v1/users/{user_id}", key=reader)
    write = admin_call(suite, "POST", disable, key=reader)

    assert (nothing[0], nothing[2]["code"]) == (401, "unauthorized")
    assert client_key[0] == 401
    assert (client_bearer[0], client_bearer[2]["code"]) == (401, "admin_key_invalid")
    assert (user_token[0], user_token[2]["code"]) == (401, "admin_key_invalid")
    assert (read[0], read[2]["status"]) == (200, "active")
    assert (write[0], write[2]["code"]) == (403, "admin_scope_missing")
    assert me(suite, token)[0] == 200  # nothing was disabled


def test_a_person_exports_their_data_and_deletes_their_account_with_their_password(suite):
    address = f"e2e.self.{uuid.uuid4().hex[:8]}@example.com"
    user_id = active_account(suite, address)
    token = signed_in(suite, address)
    bearer = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{suite.gateway_url}/v1/users/me"

    status, _, export = call(f"{url}/export", **bearer)
    wrong = call(url, "DELETE", json.dumps({"password": "not mine"}).encode(), **bearer)
    deleted = call(url, "DELETE", json.dumps({"password": PASSWORD}).encode(), **bearer)

    assert status == 200, export
    assert export["user"]["id"] == user_id
    assert [c["value"] for c in export["credentials"]] == [address]
    assert len(export["sessions"]) == 1
    assert "login_succeeded" in [e["action"] for e in export["audit_events"]]
    assert (wrong[0], wrong[2]["code"]) == (401, "invalid_credentials")
    assert deleted[0] == 204, deleted[2]
    assert me(suite, token)[0] == 401
    assert authenticate(suite, address)[0] == 401
    notice = suite.mail.wait_for(to=address, count=2, timeout=20)[-1]
    assert "deleted" in str(notice["Subject"]).lower()
