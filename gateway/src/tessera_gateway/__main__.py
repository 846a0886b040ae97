"""`python -m tessera_gateway [serve]`, and `... api-keys create NAME | list | revoke KEY_ID`."""

import argparse
import asyncio
import sys

from tessera_gateway.api_keys import (
    ApiKeyRecord,
    ApiKeyStoreUnavailableError,
    InvalidKeyNameError,
    is_key_id,
)
from tessera_gateway.app import NAME
from tessera_gateway.bootstrap import api_key_store
from tessera_gateway.config import PREFIX, GatewaySettings, load_settings
from tessera_shared.serve import load_or_exit, serve


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
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


async def _api_keys(settings: GatewaySettings, args: argparse.Namespace) -> int:
    """Run one `api-keys` action; the process exit status."""
    async with api_key_store(settings) as store:
        if args.action == "create":
            try:
                plain, record = await store.create(args.name)
            except InvalidKeyNameError as exc:
                _say(f"invalid name: {exc}")
                return 2
            _say(f"API key {record.key_id} created for {record.name!r}; shown only now:")
            # Alone on stdout, so `KEY=$(python -m tessera_gateway api-keys create app)` works.
            print(plain)
        elif args.action == "list":
            records = await store.list()
            print("KEY ID\tSTATUS\tCREATED\tREVOKED\tNAME")
            for record in records:
                print(_row(record))
        elif not is_key_id(args.key_id):
            _say(f"{args.key_id!r} is not a key id (tsk_ and 8 characters, see `api-keys list`)")
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
            record.name,
        ]
    )


def _say(message: str) -> None:
    print(f"{NAME}: {message}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tessera_gateway")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the gateway (the default)")
    keys = commands.add_parser("api-keys", help="manage the API keys of client applications")
    actions = keys.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="issue a key; prints it once, on stdout")
    create.add_argument("name", help="the client application, e.g. 'ios-app'")
    actions.add_parser("list", help="every key, revoked ones included")
    revoke = actions.add_parser("revoke", help="stop a key from working")
    revoke.add_argument("key_id", help="the key id shown by create and list (tsk_…)")
    return parser


if __name__ == "__main__":
    main()
