"""Starts a part under granian after its settings were checked, with clear start-up failures."""

import errno
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import msgspec

from tessera_shared.config import ConfigError
from tessera_shared.granian_main import ServeSpec
from tessera_shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def load_or_exit(name: str, loader: Callable[[], S]) -> S:
    """Load settings; on error print one line naming the variable and exit with status 2."""
    try:
        return loader()
    except ConfigError as exc:
        print(f"{name}: configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def ensure_port_free(name: str, host: str, port: int, variable: str) -> None:
    """Exit with a clear message when the port is taken, instead of a server traceback."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            why = "is already in use" if exc.errno == errno.EADDRINUSE else f"failed: {exc}"
            print(
                f"{name}: cannot listen on {host}:{port}: the port {why} (set {variable})",
                file=sys.stderr,
            )
            raise SystemExit(1) from None


def serve(
    name: str,
    factory: str,
    settings: ServiceSettings,
    port_variable: str,
    *,
    tls: tuple[Path, Path] | None = None,
) -> NoReturn:
    """Run `factory` (`module:function` returning an ASGI app) until SIGINT/SIGTERM.

    Failed workers are respawned; a worker crashing again right after its respawn ends it.

    `tls`: (certificate chain, private key) PEM files to serve HTTPS instead of HTTP.
    """
    ensure_port_free(name, settings.host, settings.port, port_variable)
    spec = ServeSpec(
        name=name,
        factory=factory,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        tls_cert=str(tls[0]) if tls else None,
        tls_key=str(tls[1]) if tls else None,
    )
    sys.stdout.flush()
    sys.stderr.flush()
    # Same PID (supervisors keep tracking it), a fresh interpreter without the part loaded;
    # the part's package stays in the command line, so `ps` and process lookups still name it.
    package = factory.partition(".")[0]
    spec_json = msgspec.json.encode(spec).decode()
    argv = [sys.executable, "-m", "tessera_shared.granian_main", package, spec_json]
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter, arguments as a list
