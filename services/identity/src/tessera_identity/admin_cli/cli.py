"""`tessera-admin`: arguments, the environment and exit codes (0 done, 1 refused or failed,
2 usage or a missing key, 130 interrupted)."""

import argparse
import os
import sys
import time
from collections.abc import Mapping, Sequence

from tessera_identity.admin_cli import commands
from tessera_identity.admin_cli.client import TIMEOUT_S, AdminClient
from tessera_identity.admin_cli.commands import Console, Context
from tessera_identity.admin_cli.errors import CliError
from tessera_identity.admin_cli.text import utc_moment

PROG = "tessera-admin"
URL_VAR = "TESSERA_ADMIN_URL"
KEY_VAR = "TESSERA_ADMIN_KEY"
DEFAULT_URL = "http://127.0.0.1:8080"
STATUSES = ("pending", "active", "disabled")

EPILOG = f"""\
environment:
  {KEY_VAR}   the admin key (tsa_...), required; sent as Authorization: Bearer
  {URL_VAR}   the gateway's address (default {DEFAULT_URL}); --url overrides it

USER is a user id, or an email or phone that exactly one user has.
Each call gives up after {TIMEOUT_S:g} s. Exit codes: 0 done, 1 failed or refused,
2 usage or no key."""


def _positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def _moment(text: str) -> str:
    """--since is checked here, so a typo fails before any call."""
    try:
        return utc_moment(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expects ISO 8601, e.g. 2026-12-07T14:00Z") from None


def _global_flags(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    # Subcommands repeat the global flags with SUPPRESS, so `--json` also works after them
    # without resetting a value given before.
    json_default: bool | str = False if defaults else argparse.SUPPRESS
    url_default: str | None = None if defaults else argparse.SUPPRESS
    parser.add_argument(
        "--json",
        action="store_true",
        default=json_default,
        help="print the API's JSON as is (indented); --follow prints one event per line",
    )
    parser.add_argument(
        "--url", default=url_default, metavar="URL", help=f"the gateway's address ({URL_VAR})"
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree; each leaf sets `run` to its function in `commands`."""
    root = argparse.ArgumentParser(
        prog=PROG,
        description="Operators' command line for the Tessera admin API.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _global_flags(root, defaults=True)
    common = argparse.ArgumentParser(add_help=False)
    _global_flags(common, defaults=False)
    nouns = root.add_subparsers(dest="noun", required=True, metavar="{users,sessions,audit}")

    def leaf(
        group: "argparse._SubParsersAction[argparse.ArgumentParser]",
        name: str,
        run: object,
        help_text: str,
    ) -> argparse.ArgumentParser:
        parser = group.add_parser(name, parents=[common], help=help_text, description=help_text)
        parser.set_defaults(run=run)
        return parser

    users = nouns.add_parser("users", help="find, show and change users").add_subparsers(
        dest="verb", required=True
    )
    find = leaf(users, "find", commands.users_find, "list users whose email or phone starts so")
    find.add_argument("query", nargs="?", help="start of an email or phone, or a user id")
    find.add_argument("--status", choices=STATUSES)
    find.add_argument("--limit", type=_positive, default=50, help="at most this many (50)")
    for name, run, help_text in (
        ("show", commands.users_show, "profile, credentials, MFA, lockout and sessions"),
        ("disable", commands.users_disable, "refuse sign-ins of the user"),
        ("enable", commands.users_enable, "allow sign-ins again"),
        ("unlock", commands.users_unlock, "lift a lockout after failed passwords"),
        ("reset-mfa", commands.users_reset_mfa, "turn off the second factor"),
        ("delete", commands.users_delete, "delete the user (asks unless --yes); --json: silent"),
    ):
        parser = leaf(users, name, run, help_text)
        parser.add_argument("user", metavar="USER")
        if name == "delete":
            parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    sessions = nouns.add_parser("sessions", help="end sessions").add_subparsers(
        dest="verb", required=True
    )
    revoke = leaf(sessions, "revoke", commands.sessions_revoke, "end every session of the user")
    revoke.add_argument("user", metavar="USER")

    audit = nouns.add_parser("audit", help="read the audit log").add_subparsers(
        dest="verb", required=True
    )
    tail = leaf(audit, "tail", commands.audit_tail, "the newest events, oldest first")
    tail.add_argument("--user", metavar="USER", help="only events of this user")
    tail.add_argument("--action", help="only this action")
    tail.add_argument(
        "--since", type=_moment, metavar="ISO", help="only events at or after (no offset: UTC)"
    )
    tail.add_argument("--limit", type=_positive, default=50, help="at most this many (50)")
    tail.add_argument("--follow", "-f", action="store_true", help="poll every 2 s; Ctrl-C stops")
    return root


def run(argv: Sequence[str], env: Mapping[str, str], console: Console) -> int:
    """The whole command for `argv`; returns the exit code instead of exiting, for tests."""
    try:
        args = build_parser().parse_args(list(argv))
    except SystemExit as stop:  # --help, or a usage error argparse already printed
        return stop.code if isinstance(stop.code, int) else 2
    key = env.get(KEY_VAR, "").strip()
    try:
        if not key:
            raise CliError(f"set {KEY_VAR} to an admin key (tsa_...)", exit_code=2)
        client = AdminClient(args.url or env.get(URL_VAR) or DEFAULT_URL, key)
        return int(args.run(Context(client, console, args.json), args))
    except CliError as error:
        print(f"{PROG}: {error.message}", file=console.stderr)
        if error.details:
            print(error.details, file=console.stderr)
        return error.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tessera-admin` script."""
    console = Console(sys.stdin, sys.stdout, sys.stderr, time.sleep)
    try:
        return run(sys.argv[1:] if argv is None else argv, os.environ, console)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:  # `| head` closed the pipe: stop quietly, as other tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
