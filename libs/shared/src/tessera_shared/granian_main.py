"""`python -m tessera_shared.granian_main PACKAGE SPEC`: granian's main process, and nothing else.

A part's `__main__` checks its settings (which imports the whole part) and then replaces itself
with this module (`serve`), so the long-lived main process that only supervises the workers
holds granian alone: about 30 MB instead of the part's 70-90 MB, per part.
"""

import sys
from pathlib import Path

import msgspec
from granian import Granian
from granian.constants import Interfaces

from tessera_shared.logging import granian_log_config


class ServeSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What `serve` decided, passed on the command line as JSON."""

    name: str
    factory: str
    host: str
    port: int
    workers: int
    log_level: str
    tls_cert: str | None = None
    tls_key: str | None = None


def run(spec: ServeSpec) -> None:
    """Serve `spec.factory` until SIGINT/SIGTERM.

    Failed workers are respawned; a worker crashing again right after its respawn ends it.
    """
    Granian(
        spec.factory,
        address=spec.host,
        port=spec.port,
        interface=Interfaces.ASGI,
        workers=spec.workers,
        factory=True,
        log_dictconfig=granian_log_config(spec.name, spec.log_level),
        log_access=False,
        workers_kill_timeout=15,  # a worker stuck in shutdown is killed, never left behind
        # A worker that dies (OOM kill, kill -9, a crash in native code) is replaced and the
        # part keeps answering; granian still exits when a worker dies again within ~5 s of
        # its respawn (a crash loop), so the supervisor (runner, compose, k8s) sees it.
        respawn_failed_workers=True,
        ssl_cert=Path(spec.tls_cert) if spec.tls_cert else None,
        ssl_key=Path(spec.tls_key) if spec.tls_key else None,
    ).serve()


if __name__ == "__main__":
    run(msgspec.json.decode(sys.argv[2], type=ServeSpec))  # argv[1]: the part, for `ps`
