"""One NATS connection per process that comes up in the background and heals by itself.

The URL setting may list several servers of one cluster, comma-separated
(`nats://a:4222,nats://user:pass@b:4222`). The first connect is retried forever with backoff
(a part starts while NATS is down and turns ready when it appears); when the server in use
goes away the client moves to another one of the list (or one the cluster told it about) and
keeps trying for ever. After each (re)connect the `on_connect` hook re-declares what the part
needs (streams, consumers), since a restarted server may have lost it.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import unquote, urlsplit

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from tessera_shared.config import ConfigError

log = logging.getLogger("tessera.nats")
OnConnect = Callable[[JetStreamContext], Awaitable[None]]

SCHEMES = ("nats", "tls", "ws", "wss")
URL_FORM = "nats://host:port, comma-separated for several servers"


def parse_servers(value: str) -> list[str]:
    """The server URLs of a NATS URL setting: one URL or a comma-separated list of them.

    Raises ValueError saying which entry is wrong and why, without quoting it (a URL may carry
    a password).
    """
    entries = [entry.strip() for entry in value.split(",")]
    if entries == [""]:
        raise ValueError(f"no server given (expected {URL_FORM})")
    for n, entry in enumerate(entries, start=1):
        where = f"entry {n} of {len(entries)}" if len(entries) > 1 else "the URL"
        if not entry:
            raise ValueError(f"{where} is empty (expected {URL_FORM})")
        if any(c.isspace() for c in entry):
            raise ValueError(f"{where} contains a space (separate servers with commas)")
        try:
            parts = urlsplit(entry)
            port = parts.port
        except ValueError:
            raise ValueError(f"{where} has an invalid port (expected {URL_FORM})") from None
        if parts.scheme not in SCHEMES or not entry.startswith(f"{parts.scheme}://"):
            raise ValueError(
                f"{where} does not start with one of {', '.join(s + '://' for s in SCHEMES)}"
            )
        if not parts.hostname:
            raise ValueError(f"{where} has no host (expected {URL_FORM})")
        if port == 0:
            raise ValueError(f"{where} has an invalid port (expected {URL_FORM})")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError(f"{where} has a path or query; give only scheme://host:port")
    return entries


def check_servers_setting(value: str, variable: str) -> None:
    """A start-up check of a NATS URL setting: ConfigError naming `variable` if malformed."""
    try:
        parse_servers(value)
    except ValueError as exc:
        raise ConfigError(f"{variable} is invalid: {exc}") from None


def shared_credentials(servers: list[str]) -> dict[str, str]:
    """The user and password (or token) the listed URLs carry, as connect options, when they
    all carry the same: then they also reach the servers the cluster announces (whose URLs
    have none), which nats-py would otherwise connect to without credentials."""
    found = set()
    for server in servers:
        parts = urlsplit(server)
        if parts.username is not None:
            password = None if parts.password is None else unquote(parts.password)
            found.add((unquote(parts.username), password))
    if len(found) != 1:
        return {}  # none, or different ones per server: each URL keeps its own
    [(user, password)] = found
    return {"token": user} if password is None else {"user": user, "password": password}


def redact(url: str) -> str:
    """`scheme://host:port` of a server URL: no user name, password or token, for logs."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme or 'nats'}://{host}" + (f":{port}" if port else "")


class NatsConnection:
    def __init__(self, url: str, name: str, on_connect: OnConnect | None = None) -> None:
        self.url = url
        self.servers = parse_servers(url)
        self.name = name
        self._server = ""  # the server in use, redacted, for the disconnect log line
        self._on_connect = on_connect
        self._client: Client | None = None
        self._declared = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected_url(self) -> str | None:
        """The server in use (`nats://host:port`, without credentials), None while not connected."""
        if self._client is None or not self._client.is_connected:
            return None
        current = self._client.connected_url
        return redact(current.geturl()) if current is not None else None

    @property
    def js(self) -> JetStreamContext:
        if self._client is None or not self._client.is_connected:
            raise ConnectionError("NATS is not connected")
        return self._client.jetstream(timeout=5)

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect_forever(), name=f"{self.name}-nats")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None and not self._client.is_closed:
            # close, not drain: every JetStream publish was already acknowledged, and draining
            # a pull subscription waits out its full timeout.
            await self._client.close()

    async def check(self) -> None:
        """Readiness: connected, JetStream answering, and `on_connect` has succeeded."""
        if not self._declared.is_set():
            raise ConnectionError("NATS topology not declared yet")
        await self.js.account_info()

    async def _connect_forever(self) -> None:
        delay = 0.1
        while self._client is None:
            try:
                self._client = await nats.connect(
                    servers=self.servers,
                    name=self.name,
                    connect_timeout=2,
                    # Reconnect for ever, to the next server of the pool (the listed ones and
                    # those the cluster announces). The wait applies only to retrying a server
                    # tried less than this long ago: moving to another node is immediate.
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    # Randomised order (the default): the processes of a deployment spread over
                    # the nodes, and do not all fall onto the same next one when a node dies.
                    dont_randomize=False,
                    # A killed node closes its sockets; a silent one (network cut) is noticed
                    # after two unanswered pings, ~20 s instead of the library's 4 min.
                    ping_interval=10,
                    max_outstanding_pings=2,
                    **shared_credentials(self.servers),
                    reconnected_cb=self._reconnected,
                    disconnected_cb=self._disconnected,
                    error_cb=self._error,
                )
            except Exception as exc:
                log.warning("NATS not reachable yet (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        self._server = self.connected_url or ""
        log.info("NATS connected to %s", self._server)
        await self._declare_until_done()

    async def _declare_until_done(self) -> None:
        delay = 0.1
        while True:
            try:
                if self._on_connect is not None:
                    await self._on_connect(self.js)
                self._declared.set()
                return
            except Exception as exc:
                log.warning("declaring NATS topology failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _reconnected(self) -> None:
        self._server = self.connected_url or ""
        log.info("NATS reconnected to %s", self._server)
        self._declared.clear()
        asyncio.create_task(self._declare_until_done())  # noqa: RUF006 - runs to completion

    async def _disconnected(self) -> None:
        if self._client is not None and self._client.is_closed:
            return  # our own close() at shutdown
        log.warning("NATS disconnected from %s; reconnecting", self._server or "?")

    async def _error(self, exc: Exception) -> None:
        log.debug("NATS client error: %s", type(exc).__name__)
