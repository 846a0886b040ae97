"""Starts a part under granian after its settings were checked, with clear start-up failures."""

import errno
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

from granian import Granian
from granian.constants import Interfaces

from tessera_shared.config import ConfigError
from tessera_shared.logging import granian_log_config
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
    Granian(
        factory,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        workers=settings.workers,
        factory=True,
        log_dictconfig=granian_log_config(name, settings.log_level),
        log_access=False,
        workers_kill_timeout=15,  # a worker stuck in shutdown is killed, never left behind
        # A worker that dies (OOM kill, kill -9, a crash in native code) is replaced and the
        # part keeps answering; granian still exits when a worker dies again within ~5 s of
        # its respawn (a crash loop), so the supervisor (runner, compose, k8s) sees it.
        respawn_failed_workers=True,
        ssl_cert=tls[0] if tls else None,
        ssl_key=tls[1] if tls else None,
    ).serve()
    raise SystemExit(0)
