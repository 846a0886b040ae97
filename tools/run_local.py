"""`make run`: real PostgreSQL, Redis and NATS (or yours), migrations, then every part.

Data lives in `.data/` (git-ignored) and survives restarts; `make reset` wipes it.
Our servers use ports off the standard ones so they never collide with servers you already run;
point at yours instead with TESSERA_DEV_POSTGRES_URL, TESSERA_DEV_REDIS_URL, TESSERA_DEV_NATS_URL.
A part that exits on its own is restarted after a short wait, with one log line; one that keeps
exiting (more than 5 restarts within 60 s) stops the suite with a message naming it.
Ctrl-C stops the parts, then the servers, and waits for each process to exit.
"""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import msgspec
import psycopg
from psycopg import sql

from tessera_gateway.bootstrap import api_key_store
from tessera_gateway.config import GatewaySettings
from tessera_shared.devservers import (
    NatsServer,
    PostgresServer,
    RedisServer,
    ServerError,
    port_is_free,
)
from tessera_shared.devstack import (
    Dependencies,
    Part,
    PartProcess,
    Supervisor,
    default_parts,
    suite_environment,
)
from tessera_shared.restarts import RestartPolicy

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("TESSERA_DEV_DATA_DIR") or ROOT / ".data").resolve()
DATABASE = "tessera"


class Stop(Exception):  # noqa: N818 - a signal to stop, not an error
    """Ctrl-C or SIGTERM while starting or running."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop


def _port(variable: str, default: int) -> int:
    raw = os.environ.get(variable, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit(f"run: {variable} must be a port number, got {raw!r}")
    return int(raw)


def _require_free(port: int, what: str, variable: str) -> None:
    if not port_is_free(port):
        sys.exit(f"run: port {port} for {what} is already in use; set {variable} to another port")


def main() -> None:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    parts = default_parts(
        gateway=_port("TESSERA_GATEWAY_PORT", 8080),
        identity=_port("TESSERA_IDENTITY_PORT", 8001),
        session=_port("TESSERA_SESSION_PORT", 8002),
        otp=_port("TESSERA_OTP_PORT", 8003),
    )
    for part in parts:
        _require_free(part.port, part.name, f"{part.prefix}PORT")

    servers: list[PostgresServer | RedisServer | NatsServer] = []
    processes: list[PartProcess] = []
    try:
        deps = _dependencies(servers)
        _create_database(deps.postgres_url)
        env = suite_environment(
            parts,
            deps,
            extra={
                "TESSERA_OTP_EMAIL_PROVIDERS": "console",
                "TESSERA_OTP_SMS_PROVIDERS": "console",
                "TESSERA_SESSION_SIGNING_KEYS_DIR": str(DATA / "keys"),
                # Local runs are plain HTTP: browsers drop Secure cookies on hosts other than
                # localhost. Production refuses this setting.
                "TESSERA_SESSION_COOKIE_SECURE": "false",
            },
        )
        _migrate(env)
        api_key = asyncio.run(_dev_api_key(env))
        for part in parts:
            process = PartProcess(part, env, sys.stdout)
            processes.append(process)
            process.start()
            process.wait_ready(60)
        _banner(parts, deps, api_key)
        Supervisor(processes, RestartPolicy(), sys.stderr).run()
    except Stop:
        print("\nrun: stopping…", file=sys.stderr)
    except (ServerError, RuntimeError, TimeoutError, psycopg.OperationalError) as exc:
        print(f"run: {exc}", file=sys.stderr)
    finally:
        # A second Ctrl-C or SIGTERM must not cut the cleanup.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for process in reversed(processes):
            process.stop()
        for server in reversed(servers):
            server.stop()
        print("run: everything stopped", file=sys.stderr)


def _dependencies(servers: list[PostgresServer | RedisServer | NatsServer]) -> Dependencies:
    DATA.mkdir(exist_ok=True)
    postgres_url = os.environ.get("TESSERA_DEV_POSTGRES_URL")
    if not postgres_url:
        port = _port("TESSERA_DEV_POSTGRES_PORT", 15432)
        _require_free(port, "PostgreSQL", "TESSERA_DEV_POSTGRES_PORT")
        postgres = PostgresServer(DATA / "postgres", port)
        servers.append(postgres)
        postgres.start()
        postgres_url = postgres.url(DATABASE)
    redis_url = os.environ.get("TESSERA_DEV_REDIS_URL")
    if not redis_url:
        port = _port("TESSERA_DEV_REDIS_PORT", 16379)
        _require_free(port, "Redis", "TESSERA_DEV_REDIS_PORT")
        redis = RedisServer(DATA / "redis", port)
        servers.append(redis)
        redis.start()
        redis_url = redis.url()
    nats_url = os.environ.get("TESSERA_DEV_NATS_URL")
    if not nats_url:
        port = _port("TESSERA_DEV_NATS_PORT", 14222)
        _require_free(port, "NATS", "TESSERA_DEV_NATS_PORT")
        nats = NatsServer(DATA / "nats", port)
        servers.append(nats)
        nats.start()
        nats_url = nats.url()
    return Dependencies(postgres_url=postgres_url, redis_url=redis_url, nats_url=nats_url)


def _create_database(url: str) -> None:
    """Create the database named in `url` if it is missing (connecting to `postgres`)."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    name = str(info.get("dbname") or DATABASE)
    admin = psycopg.conninfo.make_conninfo(url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tessera_identity", "migrate"],
        env={**os.environ, **env},
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError("migrations failed")


async def _dev_api_key(env: dict[str, str]) -> str:
    """The API key of local runs: kept in the data folder, made anew when Redis lost it."""
    saved = DATA / "dev-api-key"
    settings = msgspec.structs.replace(
        GatewaySettings(),
        redis_url=env["TESSERA_GATEWAY_REDIS_URL"],
        api_key_prefix=env["TESSERA_GATEWAY_API_KEY_PREFIX"],
    )
    async with api_key_store(settings) as store:
        if saved.exists() and await store.verify(saved.read_text().strip()):
            return saved.read_text().strip()
        plain, _ = await store.create("local-dev")
    saved.write_text(plain + "\n")
    saved.chmod(0o600)
    return plain


def _banner(parts: list[Part], deps: Dependencies, api_key: str) -> None:
    by_name = {p.name: p.port for p in parts}
    print(
        f"""
  Tessera is running. Ctrl-C stops everything.

  gateway (public)   http://127.0.0.1:{by_name["gateway"]}
                     try: curl -s 127.0.0.1:{by_name["gateway"]}/health/ready
  identity           http://127.0.0.1:{by_name["identity"]}
  session            http://127.0.0.1:{by_name["session"]}
  otp-delivery       http://127.0.0.1:{by_name["otp-delivery"]} (health only)
  PostgreSQL         {deps.postgres_url}
  Redis              {deps.redis_url}
  NATS               {deps.nats_url}
  data               {DATA}  (make reset wipes it)
  API key            {api_key}  (send as X-API-Key on registration routes)
""",
        flush=True,
    )


if __name__ == "__main__":
    main()
