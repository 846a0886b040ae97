"""`tessera-admin`: the layout and USER rules as pure functions, then every command against an
in-process stand-in of the admin API that checks the key and records each request."""

import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

import pytest

from tessera_identity.admin_cli.cli import run
from tessera_identity.admin_cli.client import error_line
from tessera_identity.admin_cli.commands import Console
from tessera_identity.admin_cli.contract import AuditEvent, UserDetail, UserSummary
from tessera_identity.admin_cli.errors import CliError
from tessera_identity.admin_cli.text import cell, table, utc_moment, when, width
from tessera_identity.admin_cli.users import choose, contact_query, exact_matches, user_id
from tessera_identity.admin_cli.views import audit_table, user_detail

KEY = "tsa_testkey1_secretpart"
ANN = "0b6f8e1c-58c5-4c1e-9a3e-1f2d3c4b5a60"
BOB = "7d0c2a9e-0f4b-4a57-8f1e-2b3c4d5e6f70"


def summary(uid: str, email: str | None, **extra: Any) -> UserSummary:
    base = {
        "id": uid,
        "status": "active",
        "email": email,
        "phone": None,
        "name": None,
        "created_at": "2026-12-01T09:30:00+00:00",
        "last_login_at": None,
    }
    return cast(UserSummary, base | extra)


def detail(uid: str = ANN, email: str = "ann@example.com", **extra: Any) -> UserDetail:
    base = {
        "id": uid,
        "status": "active",
        "name": "Ann Example",
        "locale": "en",
        "created_at": "2026-12-01T09:30:00+00:00",
        "last_login_at": "2026-12-07T08:00:00+01:00",
        "last_login_device": "dev-1",
        "password_set": True,
        "password_changed_at": "2026-12-02T10:00:00+00:00",
        "mfa": {"mode": "totp", "totp_enabled": True, "recovery_codes_left": 8},
        "credentials": [
            {"type": "phone", "value": "+41791234567", "verified": False, "verified_at": None},
            {
                "type": "email",
                "value": email,
                "verified": True,
                "verified_at": "2026-12-01T09:31:00Z",
            },
        ],
        "lockout": {"locked": False, "locked_until": None, "failures": 2},
        "sessions": [
            {
                "id": "s-1",
                "device_id": "dev-1",
                "app_id": "web",
                "created_at": "2026-12-07T07:00:00Z",
                "last_used_at": "2026-12-07T07:59:00Z",
                "ip": "203.0.113.9",
                "user_agent": "Mozilla/5.0 " + "x" * 80,
            }
        ],
    }
    return cast(UserDetail, base | extra)


def event(number: int, action: str = "user.disabled", user: str | None = ANN) -> AuditEvent:
    return {
        "id": number,
        "at": f"2026-12-07T10:00:{number:02d}Z",
        "action": action,
        "actor": "admin:tsa_testkey1",
        "user_id": user,
        "ip": "198.51.100.7",
        "request_id": f"req-{number}",
    }


# -- layout -------------------------------------------------------------------------------------


def test_a_column_is_as_wide_as_its_widest_value() -> None:
    text = table(("ID", "NAME"), [("1", "a-rather-long-name"), ("22", "b")])
    assert text.splitlines() == ["ID  NAME", "1   a-rather-long-name", "22  b"]


def test_wide_characters_take_two_columns_so_the_next_column_stays_aligned() -> None:
    text = table(("NAME", "STATUS"), [("山田太郎", "active"), ("Ann", "pending")])
    assert text.splitlines() == ["NAME      STATUS", "山田太郎  active", "Ann       pending"]
    assert width("山田太郎") == 8


def test_a_capped_column_cuts_long_values_with_an_ellipsis() -> None:
    text = table(("AGENT",), [("x" * 60,)], widest={"AGENT": 10})
    assert text.splitlines()[1] == "x" * 9 + "…"


def test_rows_have_no_trailing_spaces() -> None:
    text = table(("A", "B"), [("long value", None)])
    assert all(line == line.rstrip() for line in text.splitlines())
    assert text.splitlines()[1] == "long value  -"


def test_control_characters_from_users_are_escaped_instead_of_reaching_the_terminal() -> None:
    assert cell("Ann\x1b[2J\nEvil\u202e") == "Ann\\x1b[2J\\nEvil\\u202e"
    assert cell(None) == "-"
    assert cell(True) == "yes"


def test_times_print_in_utc_to_the_second() -> None:
    assert when("2026-12-07T08:00:00.123+01:00") == "2026-12-07T07:00:00Z"
    assert when(None) == "-"
    assert when("not a time") == "not a time"


def test_since_is_sent_in_utc_as_the_api_decodes_it() -> None:
    assert utc_moment("2026-12-07T14:00+01:00") == "2026-12-07T13:00:00Z"
    assert utc_moment("2026-12-07") == "2026-12-07T00:00:00Z"
    with pytest.raises(ValueError, match="Invalid isoformat"):
        utc_moment("yesterday")


def test_the_audit_table_reads_like_a_log_oldest_first() -> None:
    lines = audit_table([event(3), event(2), event(1)]).splitlines()
    assert lines[0].split() == ["AT", "ACTION", "ACTOR", "USER", "IP", "REQUEST", "ID"]
    assert [line.split()[-1] for line in lines[1:]] == ["req-1", "req-2", "req-3"]


def test_the_detail_shows_profile_credentials_mfa_lockout_and_sessions() -> None:
    text = user_detail(detail())
    headings = [line for line in text.splitlines() if line and not line.startswith(" ")]
    assert headings == ["profile", "credentials", "MFA", "lockout", "sessions (1)"]
    assert "  last sign-in    2026-12-07T07:00:00Z on device dev-1" in text
    assert "  email  ann@example.com  2026-12-01T09:31:00Z" in text
    assert "  phone  +41791234567     no" in text
    assert "  recovery codes  8 left" in text
    assert "Mozilla/5.0 " + "x" * 27 + "…" in text


def test_an_error_body_reads_as_message_code_and_status() -> None:
    body = {"code": "user_not_found", "message": "This user does not exist."}
    assert error_line(404, body) == "This user does not exist. (user_not_found, HTTP 404)"


def test_an_error_without_a_json_body_names_the_http_status() -> None:
    assert error_line(502, None) == "Bad Gateway (HTTP 502)"


# -- which user USER means ----------------------------------------------------------------------


def test_a_user_id_is_taken_as_given_in_canonical_form() -> None:
    assert user_id(ANN.upper()) == ANN
    assert user_id("ann@example.com") is None


def test_the_exact_email_is_chosen_among_the_prefix_matches() -> None:
    found = [summary(BOB, "ann@example.com.au"), summary(ANN, "Ann@Example.com")]
    assert choose("ann@example.com", found)["id"] == ANN


def test_a_phone_typed_with_spaces_matches_the_stored_number() -> None:
    assert contact_query("+41 79 123-45-67") == "+41791234567"
    found = [summary(ANN, None, phone="+41791234567"), summary(BOB, None, phone="+417912345678")]
    assert [u["id"] for u in exact_matches(contact_query("+41 79 123 45 67"), found)] == [ANN]


def test_no_exact_match_is_refused_with_a_hint_at_the_prefix_matches() -> None:
    with pytest.raises(CliError) as refused:
        choose("ann@example.co", [summary(ANN, "ann@example.com")])
    assert refused.value.message == (
        "no user with the email or phone ann@example.co "
        "(1 start with it: tessera-admin users find ann@example.co)"
    )
    assert refused.value.exit_code == 1


def test_two_users_with_the_same_address_are_listed_and_refused() -> None:
    found = [summary(ANN, "ann@example.com"), summary(BOB, None, phone="ANN@example.com")]
    with pytest.raises(CliError) as refused:
        choose("ann@example.com", found)
    assert refused.value.message.startswith("2 users have the email or phone ann@example.com")
    assert ANN in refused.value.details
    assert BOB in refused.value.details


# -- the whole command against a stand-in of the admin API --------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]


@dataclass
class AdminApi:
    """Answers from a queue per (method, path) (the last answer repeats); 401 without KEY."""

    url: str = ""
    requests: list[Seen] = field(default_factory=list)
    answers: dict[tuple[str, str], list[tuple[int, object]]] = field(default_factory=dict)

    def answer(self, method: str, path: str, body: object, status: int = 200) -> None:
        self.answers.setdefault((method, path), []).append((status, body))

    def reply(self, method: str, target: str, authorization: str | None) -> tuple[int, object]:
        if authorization != f"Bearer {KEY}":
            return 401, {"code": "admin_key_invalid", "message": "An admin key is required."}
        parts = urlsplit(target)
        self.requests.append(Seen(method, parts.path, dict(parse_qsl(parts.query))))
        queue = self.answers.get((method, parts.path))
        if not queue:
            return 404, {"code": "not_found", "message": f"no stand-in for {method} {parts.path}"}
        return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(BaseHTTPRequestHandler):
    def _serve(self) -> None:
        api = cast(Any, self.server).api
        status, body = api.reply(self.command, self.path, self.headers.get("Authorization"))
        raw = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        if raw:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest shows the assertions, not an access log."""


@pytest.fixture
def api() -> Iterator[AdminApi]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    stand_in = AdminApi(url=f"http://127.0.0.1:{server.server_address[1]}")
    cast(Any, server).api = stand_in
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


def admin(*argv: str, url: str, key: str | None = KEY, typed: str = "", sleeps: int = 0) -> Outcome:
    """Runs `tessera-admin argv`; `sleeps` polls of --follow pass before Ctrl-C."""
    out, err = io.StringIO(), io.StringIO()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) > sleeps:
            raise KeyboardInterrupt

    env = {"TESSERA_ADMIN_URL": url} | ({"TESSERA_ADMIN_KEY": key} if key is not None else {})
    code = run(list(argv), env, Console(io.StringIO(typed), out, err, sleep))
    return Outcome(code, out.getvalue(), err.getvalue())


USERS = "/admin/v1/users"


def test_find_lists_the_matching_users_as_a_table(api: AdminApi) -> None:
    api.answer("GET", USERS, {"users": [summary(ANN, "ann@example.com")], "next_cursor": None})
    done = admin("users", "find", "ann", "--status", "active", url=api.url)
    assert api.requests == [Seen("GET", USERS, {"query": "ann", "status": "active", "limit": "50"})]
    assert done.code == 0
    assert done.out.splitlines() == [
        "ID                                    STATUS  EMAIL            PHONE  NAME  CREATED"
        "               LAST SIGN-IN",
        f"{ANN}  active  ann@example.com  -      -     2026-12-01T09:30:00Z  -",
    ]


def test_find_follows_the_cursor_until_the_limit(api: AdminApi) -> None:
    first = [summary(ANN, "a@x.io"), summary(BOB, "b@x.io")]
    api.answer("GET", USERS, {"users": first, "next_cursor": "c1"})
    api.answer("GET", USERS, {"users": [summary(BOB, "c@x.io")], "next_cursor": "c2"})
    done = admin("users", "find", "--limit", "3", url=api.url)
    assert [r.query for r in api.requests] == [{"limit": "3"}, {"limit": "1", "cursor": "c1"}]
    assert len(done.out.splitlines()) == 4
    assert "more match" in done.err


def test_show_by_email_finds_the_exact_user_then_prints_the_detail(api: AdminApi) -> None:
    prefix_matches = [summary(BOB, "ann@example.com.au"), summary(ANN, "ann@example.com")]
    api.answer("GET", USERS, {"users": prefix_matches, "next_cursor": None})
    api.answer("GET", f"{USERS}/{ANN}", detail())
    done = admin("users", "show", "ANN@example.com", url=api.url)
    assert api.requests == [
        Seen("GET", USERS, {"query": "ANN@example.com"}),
        Seen("GET", f"{USERS}/{ANN}", {}),
    ]
    assert done.code == 0
    assert done.out.startswith(f"profile\n  id              {ANN}\n  status          active\n")


def test_json_after_the_subcommand_prints_the_api_body_as_is(api: AdminApi) -> None:
    api.answer("GET", f"{USERS}/{ANN}", detail())
    done = admin("users", "show", ANN, "--json", url=api.url)
    assert api.requests == [Seen("GET", f"{USERS}/{ANN}", {})]
    assert json.loads(done.out) == detail()
    assert done.out.startswith('{\n  "id"')


def test_disable_prints_one_line_with_the_users_email(api: AdminApi) -> None:
    api.answer("POST", f"{USERS}/{ANN}/disable", detail(status="disabled"))
    done = admin("users", "disable", ANN, url=api.url)
    assert api.requests == [Seen("POST", f"{USERS}/{ANN}/disable", {})]
    assert (done.code, done.out) == (0, f"disabled user {ANN} (ann@example.com)\n")


def test_delete_refuses_when_the_typed_confirmation_does_not_match(api: AdminApi) -> None:
    api.answer("GET", f"{USERS}/{ANN}", detail())
    done = admin("users", "delete", ANN, url=api.url, typed="bob@example.com\n")
    assert [(r.method, r.path) for r in api.requests] == [("GET", f"{USERS}/{ANN}")]
    assert done.code == 1
    assert done.out == ""
    assert "type the user's id or email to delete it" in done.err
    assert f"not deleted: that is neither the id nor the email of user {ANN}" in done.err


def test_delete_goes_ahead_when_the_email_is_typed_back(api: AdminApi) -> None:
    api.answer("GET", f"{USERS}/{ANN}", detail())
    api.answer("DELETE", f"{USERS}/{ANN}", None, status=204)
    done = admin("users", "delete", ANN, url=api.url, typed=" Ann@Example.com \n")
    assert [r.method for r in api.requests] == ["GET", "DELETE"]
    assert (done.code, done.out) == (0, f"deleted user {ANN}\n")


def test_delete_with_yes_deletes_without_asking(api: AdminApi) -> None:
    api.answer("GET", USERS, {"users": [summary(ANN, "ann@example.com")], "next_cursor": None})
    api.answer("DELETE", f"{USERS}/{ANN}", None, status=204)
    done = admin("users", "delete", "ann@example.com", "--yes", url=api.url)
    assert api.requests == [
        Seen("GET", USERS, {"query": "ann@example.com"}),
        Seen("DELETE", f"{USERS}/{ANN}", {}),
    ]
    assert (done.code, done.out, done.err) == (0, f"deleted user {ANN}\n", "")


def test_sessions_revoke_says_how_many_sessions_ended(api: AdminApi) -> None:
    api.answer("DELETE", f"{USERS}/{ANN}/sessions", {"revoked": 3})
    done = admin("sessions", "revoke", ANN, url=api.url)
    assert api.requests == [Seen("DELETE", f"{USERS}/{ANN}/sessions", {})]
    assert (done.code, done.out) == (0, f"ended 3 sessions of user {ANN}\n")


def test_audit_tail_asks_with_the_filters_and_prints_oldest_first(api: AdminApi) -> None:
    page = {"events": [event(2), event(1, "user.unlocked")], "next_cursor": "older"}
    api.answer("GET", "/admin/v1/audit", page)
    done = admin(
        "--json", "audit", "tail", "--user", ANN, "--action", "user.disabled", "--since",
        "2026-12-07T01:00+01:00", "--limit", "2", url=api.url,
    )  # fmt: skip
    filters = {"user_id": ANN, "action": "user.disabled", "since": "2026-12-07T00:00:00Z"}
    assert api.requests == [Seen("GET", "/admin/v1/audit", filters | {"limit": "2"})]
    assert json.loads(done.out) == page

    table_run = admin("audit", "tail", "--limit", "2", url=api.url)
    assert [line.split()[1] for line in table_run.out.splitlines()] == [
        "ACTION",
        "user.unlocked",
        "user.disabled",
    ]


def test_audit_tail_follow_prints_each_new_event_once_and_ctrl_c_ends_it(api: AdminApi) -> None:
    audit = "/admin/v1/audit"
    api.answer("GET", audit, {"events": [event(2), event(1)], "next_cursor": None})
    api.answer("GET", audit, {"events": [event(3), event(2), event(1)], "next_cursor": None})
    api.answer("GET", audit, {"events": [event(4), event(3), event(2)], "next_cursor": "x"})
    done = admin("audit", "tail", "--limit", "1", "--follow", url=api.url, sleeps=3)
    assert done.code == 0
    assert [line.split()[-1] for line in done.out.splitlines()] == [
        "ID",
        "req-2",
        "req-3",
        "req-4",
    ]
    assert [r.query for r in api.requests] == [{"limit": "50"}] * 4


def test_an_api_error_prints_its_message_code_and_status(api: AdminApi) -> None:
    api.answer(
        "GET",
        f"{USERS}/{BOB}",
        {"code": "user_not_found", "message": "This user does not exist."},
        status=404,
    )
    done = admin("users", "show", BOB, url=api.url)
    assert (done.code, done.out) == (1, "")
    assert done.err == "tessera-admin: This user does not exist. (user_not_found, HTTP 404)\n"


def test_a_wrong_key_is_reported_without_showing_the_key(api: AdminApi) -> None:
    done = admin("users", "find", url=api.url, key="tsa_wrongkey_other")
    assert done.code == 1
    assert "(admin_key_invalid, HTTP 401)" in done.err
    assert "tsa_wrongkey_other" not in done.err


def test_a_missing_key_names_the_variable_and_exits_two(api: AdminApi) -> None:
    done = admin("users", "find", url=api.url, key=None)
    assert done.code == 2
    assert "TESSERA_ADMIN_KEY" in done.err
    assert api.requests == []


def test_url_on_the_command_line_wins_over_the_environment(api: AdminApi) -> None:
    api.answer("DELETE", f"{USERS}/{ANN}/sessions", {"revoked": 1})
    done = admin("--url", api.url, "sessions", "revoke", ANN, url="http://192.0.2.1:9")
    assert (done.code, done.out) == (0, f"ended 1 session of user {ANN}\n")


def test_a_refused_connection_names_the_url() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}"
    done = admin("users", "find", url=url)
    assert done.code == 1
    assert done.err.startswith(f"tessera-admin: cannot connect to {url} (connection refused)")
