"""`python -m tessera_otp_delivery`: the worker (one process; scale with replicas)."""

from tessera_otp_delivery.app import NAME
from tessera_otp_delivery.config import PREFIX, load_settings
from tessera_shared.serve import load_or_exit, serve


def main() -> None:
    settings = load_or_exit(NAME, load_settings)
    serve(NAME, "tessera_otp_delivery.app:create_app", settings, f"{PREFIX}PORT")


if __name__ == "__main__":
    main()
