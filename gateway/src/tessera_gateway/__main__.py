"""`python -m tessera_gateway [serve]`, and `... api-keys create [--admin [--scope S ...]] NAME |
list | revoke KEY_ID`."""

import argparse
import asyncio
import sys

from tessera_gateway.api_keys import (
    ApiKeyRecord,
    ApiKeyStoreUnavailableError,
    InvalidKeyNameError,
    InvalidScopeError,
    KeyKind,
    kind_of_key_id,
    parse_scopes,
    scopes_text,
)
from tessera_gateway.app import NAME
from tessera_gateway.bootstrap import api_key_store
from tessera_gateway.config import PREFIX, GatewaySettings, load_settings
from tessera_shared.contracts.admin import AdminScope
from tessera_shared.serve import load_or_exit, serve


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "api-keys" and args.action == "create":
        _check_create(args.create_parser, args)
    settings = load_or_exit(NAME, load_settings)
    if args.command in (None, "serve"):
        tls = settings.edge.tls
        serve(
            NAME,
            "tessera_gateway.app:create_app",
            settings,
            f"{PREFIX}PORT",
            tls=(tls.cert, tls.key) if tls else None,
        )
    try:
        status = asyncio.run(_api_keys(settings, args))
    except ApiKeyStoreUnavailableError:
        _say(f"cannot reach Redis (check {PREFIX}REDIS_URL)")
        status = 1
    raise SystemExit(status)


def _check_create(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Settles `create`'s name and scopes before anything connects; usage errors exit 2."""
    if (args.name is None) == (args.name_option is None):
        parser.error("give the name once, as NAME or as --name NAME")
    args.name = args.name if args.name is not None else args.name_option
    if args.scope and not args.admin:
        parser.error("--scope is for admin keys (add --admin)")
    try:
        args.scopes = parse_scopes(args.scope or ())
    except InvalidScopeError as exc:
        parser.error(str(exc))


async def _api_keys(settings: GatewaySettings, args: argparse.Namespace) -> int:
    """Run one `api-keys` action; the process exit status."""
    async with api_key_store(settings) as store:
        if args.action == "create":
            try:
                if args.admin:
                    plain, record = await store.create_admin(args.name, args.scopes)
                else:
                    plain, record = await store.create(args.name)
            except InvalidKeyNameError as exc:
                _say(f"invalid name: {exc}")
                return 2
            if record.kind == KeyKind.ADMIN:
                what = f"admin key {record.key_id} ({scopes_text(record.scopes)})"
            else:
                what = f"API key {record.key_id}"
            _say(f"{what} created for {record.name!r}; shown only now:")
            # Alone on stdout, so `KEY=$(python -m tessera_gateway api-keys create app)` works.
            print(plain)
        elif args.action == "list":
            records = await store.list()
            print("KEY ID\tSTATUS\tCREATED\tREVOKED\tKIND\tSCOPES\tNAME")
            for record in records:
                print(_row(record))
        elif kind_of_key_id(args.key_id) is None:
            _say(
                f"{args.key_id!r} is not a key id (tsk_ or tsa_ and 8 characters, "
                "see `api-keys list`)"
            )
            return 2
        else:
            revoked = await store.revoke(args.key_id)
            if revoked is None:
                _say(f"no API key with id {args.key_id!r}")
                return 1
            print(_row(revoked))
    return 0


def _row(record: ApiKeyRecord) -> str:
    revoked = record.revoked_at.isoformat(timespec="seconds") if record.revoked_at else "-"
    return "\t".join(
        [
            record.key_id,
            "active" if record.active else "revoked",
            record.created_at.isoformat(timespec="seconds"),
            revoked,
            record.kind,
            scopes_text(record.scopes) or "-",
            record.name,
        ]
    )


def _say(message: str) -> None:
    print(f"{NAME}: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tessera_gateway")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the gateway (the default)")
    keys = commands.add_parser(
        "api-keys", help="manage the API keys of client applications and the admin keys"
    )
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="issue a key; prints it once, on stdout")
    create.set_defaults(create_parser=create)  # for its usage errors (`_check_create`)
    create.add_argument(
        "name", nargs="?", help="the client application or operator, e.g. 'ios-app'"
    )
    create.add_argument("--name", dest="name_option", metavar="NAME", help="the same as NAME")
    create.add_argument(
        "--admin", action="store_true", help="an admin key (tsa_…) for the admin API (/admin/)"
    )
    create.add_argument(
        "--scope",
        action="append",
        metavar="SCOPE",
        help="an admin key's scope, repeatable; none: every scope "
        f"({', '.join(scope.value for scope in AdminScope)})",
    )
    actions.add_parser("list", help="every key of both kinds, revoked ones included")
    revoke = actions.add_parser("revoke", help="stop a key from working")
    revoke.add_argument("key_id", help="the key id shown by create and list (tsk_… or tsa_…)")
    return parser


if __name__ == "__main__":
    main()
