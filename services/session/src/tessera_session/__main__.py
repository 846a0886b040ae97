"""`python -m tessera_session [serve | keys rotate | keys list]`."""

import sys
from pathlib import Path

from tessera_session.adapters.keys import generate, load_folder
from tessera_session.app import NAME
from tessera_session.config import PREFIX, load_settings
from tessera_shared.serve import load_or_exit, serve

USAGE = "usage: python -m tessera_session [serve | keys rotate | keys list]"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    settings = load_or_exit(NAME, load_settings)
    folder = Path(settings.signing_keys_dir)
    if args in ([], ["serve"]):
        serve(NAME, "tessera_session.app:create_app", settings, f"{PREFIX}PORT")
    elif args == ["keys", "rotate"]:
        key = generate(folder)
        print(f"{NAME}: new signing key {key.kid} in {folder}; it signs from the next start.")
        print("Remove the previous key file after one access-token lifetime.", file=sys.stderr)
    elif args == ["keys", "list"]:
        for key in load_folder(folder) if folder.is_dir() else []:
            print(key.kid)
    else:
        print(USAGE, file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
