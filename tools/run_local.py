"""`make run`: real PostgreSQL, Redis and NATS (or yours), migrations, then every part.

Data lives in `.data/` (git-ignored) and survives restarts; `make reset` wipes it.
Our servers use ports off the standard ones so they never collide with servers you already run;
point at yours instead with TESSERA_DEV_POSTGRES_URL, TESSERA_DEV_REDIS_URL, TESSERA_DEV_NATS_URL.
A part that exits on its own is restarted after a short wait, with one log line; one that keeps
exiting (more than 5 restarts within 60 s) stops the suite with a message naming it.
Ctrl-C stops the parts, then the servers, and waits for each process to exit.

Settings: every `TESSERA_*` variable of the environment wins, then those of `.env` in the
checkout (TESSERA_DEV_ENV_FILE names another file), then the runner's defaults: delivery to
the local inbox (TESSERA_DEV_INBOX=false: to the console) and sign-in limits a person never hits.
The example web app (examples/web) is served on http://localhost:3000 (TESSERA_DEV_WEB_PORT;
TESSERA_DEV_WEB=false: not at all), and the gateway allows it as a CORS origin.
"""

import asyncio
import functools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import FrameType

import msgspec
import psycopg
from psycopg import sql

from tessera_gateway.api_keys import ALL_SCOPES
from tessera_gateway.bootstrap import api_key_store
from tessera_gateway.config import GatewaySettings
from tessera_shared.devlogs import pretty
from tessera_shared.devrun import (
    Banner,
    banner_text,
    dev_defaults,
    effective,
    flag,
    read_dotenv,
    user_settings,
    web_defaults,
)
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
DATABASE = "tessera"
WEB_APP = Path("examples") / "web"
APPLIED = re.compile(r"(\d+) migration\(s\) applied")


class Stop(Exception):  # noqa: N818 - a signal to stop, not an error
    """Ctrl-C or SIGTERM while starting or running."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Stop


def _port(settings: Mapping[str, str], variable: str, default: int) -> int:
    raw = settings.get(variable, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit(f"run: {variable} must be a port number, got {raw!r}")
    return int(raw)


def _require_free(port: int, what: str, variable: str) -> None:
    if not port_is_free(port):
        sys.exit(f"run: port {port} for {what} is already in use; set {variable} to another port")


def _step(text: str) -> None:
    print(text, flush=True)


def _timed(what: str, action: Callable[[], object]) -> None:
    """Runs `action`, then says `<what> ready (1.8 s)`."""
    began = time.monotonic()
    action()
    _step(f"{what} ready ({time.monotonic() - began:.1f} s)")


def _renderer(settings: Mapping[str, str]) -> Callable[[str], str] | None:
    """Readable part logs on a terminal (or TESSERA_LOG_FORMAT=pretty); JSON as they come when
    TESSERA_LOG_FORMAT=json or the output goes to a file or a pipe."""
    chosen = settings.get("TESSERA_LOG_FORMAT", "auto").strip().lower()
    if chosen not in ("auto", "pretty", "json"):
        sys.exit(f"run: TESSERA_LOG_FORMAT must be auto, pretty or json, got {chosen!r}")
    if chosen == "pretty" or (chosen == "auto" and sys.stdout.isatty()):
        return pretty
    return None


def main() -> None:
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    env_file = Path(os.environ.get("TESSERA_DEV_ENV_FILE") or ROOT / ".env")
    user = user_settings(os.environ, read_dotenv(env_file))
    data = Path(user.get("TESSERA_DEV_DATA_DIR") or ROOT / ".data").resolve()
    render = _renderer(user)
    gateway_port = _port(user, "TESSERA_GATEWAY_PORT", 8080)
    parts = default_parts(
        gateway=gateway_port,
        identity=_port(user, "TESSERA_IDENTITY_PORT", 8001),
        session=_port(user, "TESSERA_SESSION_PORT", 8002),
        otp=_port(user, "TESSERA_OTP_PORT", 8003),
    )
    try:
        inbox = flag(user.get("TESSERA_DEV_INBOX"), default=True)
    except ValueError as exc:
        sys.exit(f"run: TESSERA_DEV_INBOX: {exc}")
    smtp_port = _port(user, "TESSERA_DEV_SMTP_PORT", 1025)
    web_port = _port(user, "TESSERA_DEV_WEB_PORT", 3000)
    inbox_part = Part(
        "inbox",
        "tessera_shared.devinbox",
        "TESSERA_DEV_INBOX_",
        _port(user, "TESSERA_DEV_INBOX_PORT", 8025),
        health="/health",
    )
    if inbox:
        _require_free(smtp_port, "the inbox's SMTP", "TESSERA_DEV_SMTP_PORT")
        parts.insert(0, inbox_part)
    try:
        web = flag(user.get("TESSERA_DEV_WEB"), default=True)
    except ValueError as exc:
        sys.exit(f"run: TESSERA_DEV_WEB: {exc}")
    web_part = Part("web", "tessera_shared.devweb", "TESSERA_DEV_WEB_", web_port, health="/health")
    if web:
        parts.append(web_part)
    for part in parts:
        _require_free(part.port, part.name, f"{part.prefix}PORT")

    servers: list[PostgresServer | RedisServer | NatsServer] = []
    processes: list[PartProcess] = []
    try:
        deps = _dependencies(servers, user, data)
        _create_database(deps.postgres_url)
        defaults = {
            **suite_environment([p for p in parts if p not in (inbox_part, web_part)], deps),
            **dev_defaults(inbox=inbox, smtp_port=smtp_port, inbox_port=inbox_part.port),
            **(
                web_defaults(web_port=web_port, gateway_port=gateway_port, root=ROOT / WEB_APP)
                if web
                else {}
            ),
            "TESSERA_DEV_SMTP_PORT": str(smtp_port),
            "TESSERA_DEV_INBOX_PORT": str(inbox_part.port),
            "TESSERA_SESSION_SIGNING_KEYS_DIR": str(data / "keys"),
        }
        env = effective(defaults, user)
        _migrate(env)
        api_key, admin_key = asyncio.run(_dev_keys(env, data))
        env["TESSERA_DEV_WEB_API_KEY"] = api_key
        for part in parts:
            process = PartProcess(part, env, sys.stdout, render)
            processes.append(process)
            _timed(part.name, functools.partial(_start, process))
        banner = Banner(
            ports={p.name: p.port for p in parts},
            inbox_url=f"http://127.0.0.1:{inbox_part.port}/" if inbox else None,
            web_url=f"http://localhost:{web_port}/" if web else None,
            postgres_url=deps.postgres_url,
            redis_url=deps.redis_url,
            nats_url=deps.nats_url,
            data=data,
            api_key=api_key,
            admin_key=admin_key,
            env=env,
        )
        print(banner_text(banner), flush=True)
        Supervisor(processes, RestartPolicy(), sys.stderr).run()
    except Stop:
        print("\nrun: stopping…", file=sys.stderr)
    except (ServerError, RuntimeError, TimeoutError, psycopg.OperationalError) as exc:
        print(f"run: {exc}", file=sys.stderr)
        # After the cleanup below: a part that would not start or kept exiting fails `make run`.
        raise SystemExit(1) from None
    finally:
        # A second Ctrl-C or SIGTERM must not cut the cleanup.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for process in reversed(processes):
            process.stop()
        for server in reversed(servers):
            server.stop()
        print("run: everything stopped", file=sys.stderr)


def _start(process: PartProcess) -> None:
    process.start()
    try:
        process.wait_ready(60)
    except RuntimeError as exc:
        if process.part.name == "inbox":
            raise RuntimeError(f"{exc}; TESSERA_DEV_INBOX=false runs without it") from exc
        raise


def _dependencies(
    servers: list[PostgresServer | RedisServer | NatsServer], user: Mapping[str, str], data: Path
) -> Dependencies:
    data.mkdir(exist_ok=True)
    postgres_url = user.get("TESSERA_DEV_POSTGRES_URL")
    if not postgres_url:
        port = _port(user, "TESSERA_DEV_POSTGRES_PORT", 15432)
        _require_free(port, "PostgreSQL", "TESSERA_DEV_POSTGRES_PORT")
        postgres = PostgresServer(data / "postgres", port)
        servers.append(postgres)
        _timed("PostgreSQL", postgres.start)
        postgres_url = postgres.url(DATABASE)
    redis_url = user.get("TESSERA_DEV_REDIS_URL")
    if not redis_url:
        port = _port(user, "TESSERA_DEV_REDIS_PORT", 16379)
        _require_free(port, "Redis", "TESSERA_DEV_REDIS_PORT")
        redis = RedisServer(data / "redis", port)
        servers.append(redis)
        _timed("Redis", redis.start)
        redis_url = redis.url()
    nats_url = user.get("TESSERA_DEV_NATS_URL")
    if not nats_url:
        port = _port(user, "TESSERA_DEV_NATS_PORT", 14222)
        _require_free(port, "NATS", "TESSERA_DEV_NATS_PORT")
        nats = NatsServer(data / "nats", port)
        servers.append(nats)
        _timed("NATS", nats.start)
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
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        sys.stdout.write(result.stdout)
        raise RuntimeError("migrations failed")
    found = APPLIED.search(result.stdout)
    applied = int(found[1]) if found else 0
    _step(f"migrations: {applied} applied" if applied else "migrations: up to date")


async def _dev_keys(env: dict[str, str], data: Path) -> tuple[str, str]:
    """The API key and the admin key (every scope) of local runs: kept in the data folder, each
    made anew when Redis lost it."""
    settings = msgspec.structs.replace(
        GatewaySettings(),
        redis_url=env["TESSERA_GATEWAY_REDIS_URL"],
        api_key_prefix=env["TESSERA_GATEWAY_API_KEY_PREFIX"],
    )
    async with api_key_store(settings) as store:
        saved, admin_saved = data / "dev-api-key", data / "dev-admin-key"
        api_key = _read_key(saved)
        if not (api_key and await store.verify(api_key)):
            api_key, _ = await store.create("local-dev")
            _save_key(saved, api_key)
        admin_key = _read_key(admin_saved)
        record = await store.verify_admin(admin_key) if admin_key else None
        # A scope added since the key was made: a new key has it.
        if record is None or record.scopes != ALL_SCOPES:
            admin_key, _ = await store.create_admin("local-dev", ALL_SCOPES)
            _save_key(admin_saved, admin_key)
    return api_key, admin_key


def _read_key(path: Path) -> str:
    return path.read_text().strip() if path.exists() else ""


def _save_key(path: Path, plain: str) -> None:
    path.write_text(plain + "\n")
    path.chmod(0o600)


if __name__ == "__main__":
    main()
