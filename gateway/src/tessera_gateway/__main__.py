"""`python -m tessera_gateway`."""

from tessera_gateway.app import NAME
from tessera_gateway.config import PREFIX, load_settings
from tessera_shared.serve import load_or_exit, serve


def main() -> None:
    settings = load_or_exit(NAME, load_settings)
    serve(NAME, "tessera_gateway.app:create_app", settings, f"{PREFIX}PORT")


if __name__ == "__main__":
    main()
