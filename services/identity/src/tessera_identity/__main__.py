"""`python -m tessera_identity [serve|migrate]`."""

import sys

from tessera_identity.app import NAME
from tessera_identity.config import PREFIX, load_settings
from tessera_identity.migrate import migrate
from tessera_shared.serve import load_or_exit, serve

USAGE = "usage: python -m tessera_identity [serve|migrate]"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "serve"
    settings = load_or_exit(NAME, load_settings)
    if command == "migrate":
        applied = migrate(settings.database_url)
        print(f"{NAME}: {applied} migration(s) applied")
    elif command == "serve":
        serve(NAME, "tessera_identity.app:create_app", settings, f"{PREFIX}PORT")
    else:
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
