"""One function per command: call the admin API, print the answer as a table or as JSON."""

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, cast
from urllib.parse import quote

from tessera_identity.admin_cli.client import AdminClient, Query, UnreachableError, expect
from tessera_identity.admin_cli.contract import (
    AuditEvent,
    AuditPage,
    Revoked,
    UserDetail,
    UserPage,
    UserSummary,
)
from tessera_identity.admin_cli.errors import CliError
from tessera_identity.admin_cli.users import choose, contact_query, user_id
from tessera_identity.admin_cli.views import (
    audit_table,
    named,
    sessions_ended,
    user_detail,
    users_table,
)

USERS = "/admin/v1/users"
AUDIT = "/admin/v1/audit"
PAGE = 50  # rows asked for per call; more come by following next_cursor
RESOLVE_PAGES = 10  # prefix matches of a whole email or phone fit in one page; a bound anyway
FOLLOW_PAGES = 10  # catching up after a burst of events, at most this many pages per poll
POLL_S = 2.0


@dataclass(frozen=True)
class Console:
    """The terminal the command talks to; tests pass strings and a sleep that interrupts."""

    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    sleep: Callable[[float], None]


@dataclass(frozen=True)
class Context:
    """What every command needs: the API, the terminal and the output mode."""

    client: AdminClient
    console: Console
    as_json: bool

    def say(self, text: str) -> None:
        print(text, file=self.console.stdout, flush=True)

    def note(self, text: str) -> None:
        print(text, file=self.console.stderr, flush=True)

    def dump(self, body: object, *, indent: int | None = 2) -> None:
        self.say(json.dumps(body, indent=indent, ensure_ascii=False))

    def call(self, method: str, path: str, query: Query | None = None) -> Any:
        return expect(self.client.request(method, path, query))


def _user_path(uid: str, tail: str = "") -> str:
    return f"{USERS}/{quote(uid, safe='')}{tail}"


def resolve(ctx: Context, user: str) -> str:
    """The id of USER: a UUID as given, else the user with exactly that email or phone."""
    uid = user_id(user)
    if uid is not None:
        return uid
    wanted = contact_query(user)
    found: list[UserSummary] = []
    cursor: str | None = None
    for _ in range(RESOLVE_PAGES):
        page = cast(UserPage, ctx.call("GET", USERS, {"query": wanted, "cursor": cursor}))
        found.extend(page["users"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return choose(wanted, found)["id"]


def users_find(ctx: Context, args: argparse.Namespace) -> int:
    """Pages through the matches up to --limit rows; --json keeps the API's shape, merged."""
    users: list[UserSummary] = []
    cursor: str | None = None
    while len(users) < args.limit:
        query = {"query": args.query, "status": args.status, "cursor": cursor}
        ask = min(PAGE, args.limit - len(users))
        page = cast(UserPage, ctx.call("GET", USERS, {**query, "limit": ask}))
        users.extend(page["users"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    users = users[: args.limit]
    if ctx.as_json:
        ctx.dump({"users": users, "next_cursor": cursor})
    elif users:
        ctx.say(users_table(users))
        if cursor:
            ctx.note(f"showing the first {len(users)}; more match (--limit shows more)")
    else:
        ctx.note("no users match")
    return 0


def users_show(ctx: Context, args: argparse.Namespace) -> int:
    """Everything support asks about one user, in sections."""
    uid = resolve(ctx, args.user)
    detail = cast(UserDetail, ctx.call("GET", _user_path(uid)))
    if ctx.as_json:
        ctx.dump(detail)
    else:
        ctx.say(user_detail(detail))
    return 0


def _change(tail: str, verb: str) -> Callable[[Context, argparse.Namespace], int]:
    def command(ctx: Context, args: argparse.Namespace) -> int:
        uid = resolve(ctx, args.user)
        detail = cast(UserDetail, ctx.call("POST", _user_path(uid, tail)))
        if ctx.as_json:
            ctx.dump(detail)
        else:
            ctx.say(f"{verb} {named(uid, detail)}")
        return 0

    command.__doc__ = f"POST {tail}: prints `{verb} user <id> (<email>)`."
    return command


users_disable = _change("/disable", "disabled")
users_enable = _change("/enable", "enabled")
users_unlock = _change("/unlock", "unlocked")
users_reset_mfa = _change("/mfa/reset", "reset MFA of")


def users_delete(ctx: Context, args: argparse.Namespace) -> int:
    """Deletes after the operator confirms (or --yes, for scripts that already decided)."""
    uid = resolve(ctx, args.user)
    if not args.yes:
        detail = cast(UserDetail, ctx.call("GET", _user_path(uid)))
        _confirm(ctx, uid, detail)
    expect(ctx.client.request("DELETE", _user_path(uid)), body=False)
    if not ctx.as_json:  # 204: the API says nothing that --json could pass on
        ctx.say(f"deleted user {uid}")
    return 0


def _confirm(ctx: Context, uid: str, detail: UserDetail) -> None:
    """Deleting cannot be undone: the operator types the id or the email back, or it stops."""
    sessions = len(detail.get("sessions", []))
    ctx.note(f"about to delete {named(uid, detail)}, {detail['status']}, {sessions} session(s)")
    print("type the user's id or email to delete it: ", end="", file=ctx.console.stderr, flush=True)
    typed = ctx.console.stdin.readline().strip().casefold()
    accepted = {uid.casefold()} | {
        c["value"].casefold() for c in detail.get("credentials", []) if c["type"] == "email"
    }
    if not typed or typed not in accepted:
        raise CliError(f"not deleted: that is neither the id nor the email of {named(uid, detail)}")


def sessions_revoke(ctx: Context, args: argparse.Namespace) -> int:
    """Signs the user out everywhere, e.g. after a reported theft of a device."""
    uid = resolve(ctx, args.user)
    revoked = cast(Revoked, ctx.call("DELETE", _user_path(uid, "/sessions")))
    if ctx.as_json:
        ctx.dump(revoked)
    else:
        ctx.say(sessions_ended(uid, revoked["revoked"]))
    return 0


def audit_tail(ctx: Context, args: argparse.Namespace) -> int:
    """The newest --limit events, oldest first like a log; --follow keeps printing new ones."""
    filters: dict[str, str | int | None] = {
        "user_id": resolve(ctx, args.user) if args.user else None,
        "action": args.action,
        "since": args.since,
    }
    # Following needs a whole page remembered, or older events would look new at the first poll.
    wanted = max(args.limit, PAGE) if args.follow else args.limit
    events, cursor = _newest(ctx, filters, wanted)
    shown = events[: args.limit]
    if args.follow:
        _print_events(ctx, shown, header=True)
        _follow(ctx, filters, {e["id"] for e in events})
    elif ctx.as_json:
        ctx.dump({"events": shown, "next_cursor": cursor})
    else:
        ctx.say(audit_table(shown))
    return 0


def _print_events(ctx: Context, newest_first: list[AuditEvent], *, header: bool) -> None:
    """Following prints a stream: table rows under one header, or one JSON event per line."""
    if ctx.as_json:
        for event in reversed(newest_first):
            ctx.dump(event, indent=None)
    elif newest_first or header:
        ctx.say(audit_table(newest_first, header=header))


def _newest(ctx: Context, filters: Query, wanted: int) -> tuple[list[AuditEvent], str | None]:
    events: list[AuditEvent] = []
    cursor: str | None = None
    while len(events) < wanted:
        query = {**filters, "limit": min(PAGE, wanted - len(events)), "cursor": cursor}
        page = cast(AuditPage, ctx.call("GET", AUDIT, query))
        events.extend(page["events"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return events, cursor


def _follow(ctx: Context, filters: Query, seen: set[int]) -> None:
    """Polls the newest page every POLL_S and prints the events not printed yet, until Ctrl-C."""
    try:
        while True:
            ctx.console.sleep(POLL_S)
            try:
                fetched = _since_seen(ctx, filters, seen)
            except UnreachableError as gone:  # a restarting gateway; an error answer still ends it
                ctx.note(f"tessera-admin: {gone.message}; trying again")
                continue
            _print_events(ctx, [e for e in fetched if e["id"] not in seen], header=False)
            # The next poll reads the same newest window, so this window is all it must know.
            seen = {e["id"] for e in fetched}
    except KeyboardInterrupt:
        return


def _since_seen(ctx: Context, filters: Query, seen: set[int]) -> list[AuditEvent]:
    """The newest pages down to the first one that holds an event already printed."""
    events: list[AuditEvent] = []
    cursor: str | None = None
    for _ in range(FOLLOW_PAGES):
        page = cast(AuditPage, ctx.call("GET", AUDIT, {**filters, "limit": PAGE, "cursor": cursor}))
        events.extend(page["events"])
        cursor = page.get("next_cursor")
        if not cursor or any(e["id"] in seen for e in page["events"]):
            break
    return events
