"""The Redis client: lazy connections with timeouts, so a Redis restart heals by itself.

One setting (each part's `REDIS_URL`) chooses the topology:

    redis://[[user]:password@]host:port/db        one node (rediss:// for TLS)
    redis+sentinel://[password@]h1:p1,h2:p2/name/db
                                                  the master `name` as Sentinel tells it;
                                                  followed through failovers (rediss+sentinel://
                                                  for TLS to the data nodes;
                                                  `?sentinel_password=` when sentinels ask one)
    redis+cluster://[password@]h1:p1,h2:p2        a Redis Cluster, from any of its nodes
                                                  (rediss+cluster:// for TLS); db is always 0

`parse_redis_url` turns the URL into a `RedisTarget` without I/O; `make_redis` builds the client.

The pool is bounded and blocking: a burst beyond `pool_size` commands in flight waits for a
free connection (up to `pool_timeout_s`) instead of failing at once. redis-py's default pool
raises `MaxConnectionsError` (a `ConnectionError`) past 100, which callers would take for
"Redis is down". Only a wait longer than `pool_timeout_s` fails, with `ConnectionError`.
The cluster client keeps the same promise: redis-py's cluster pool (per node) raises
`MaxConnectionsError` at once when full, so at most `pool_size` commands are in flight per
client, more wait (up to `pool_timeout_s`), and each node's pool has room for them all.

`UNAVAILABLE` lists what Redis raises when it cannot answer now, in any topology: callers answer
503 for those, never 500.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import (
    ClusterError,
    ConnectionError,
    ReadOnlyError,
    RedisClusterException,
    TryAgainError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

DEFAULT_POOL_SIZE = 50
DEFAULT_POOL_TIMEOUT_S = 2.0
SOCKET_TIMEOUT_S = 2.0

RedisClient = Redis | RedisCluster
"""What `make_redis` returns: a single-node or Sentinel client (`Redis`) or a `RedisCluster`."""

UNAVAILABLE: tuple[type[Exception], ...] = (
    ConnectionError,  # also MasterNotFoundError (Sentinel), BusyLoadingError, a full pool
    RedisTimeoutError,
    ClusterError,  # ClusterDownError, MasterDownError: slots without a master (failover)
    TryAgainError,  # a slot moving during resharding or failover
    RedisClusterException,  # SlotNotCoveredError; no startup node reachable
    ReadOnlyError,  # a demoted master still answering a write
)
"""Redis errors that mean "cannot answer now" (retry later), in every topology."""

Kind = Literal["single", "sentinel", "cluster"]


class RedisUrlError(ValueError):
    """A REDIS_URL this module does not understand; the message says why."""


@dataclass(frozen=True)
class RedisTarget:
    """Where a REDIS_URL points, parsed without I/O."""

    kind: Kind
    url: str
    """The URL as given (the single-node client is built from it)."""
    nodes: tuple[tuple[str, int], ...] = ()
    """Sentinels (`sentinel`) or startup nodes (`cluster`)."""
    service: str = ""
    """The Sentinel master name."""
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    tls: bool = False
    options: dict[str, str] = field(default_factory=dict)


_SCHEMES: dict[str, tuple[Kind, bool]] = {
    "redis": ("single", False),
    "rediss": ("single", True),
    "unix": ("single", False),
    "redis+sentinel": ("sentinel", False),
    "rediss+sentinel": ("sentinel", True),
    "redis+cluster": ("cluster", False),
    "rediss+cluster": ("cluster", True),
}

_DEFAULT_PORT = {"sentinel": 26379, "cluster": 6379}


def parse_redis_url(url: str) -> RedisTarget:
    """The topology, nodes and credentials of `url`; raises `RedisUrlError` when malformed."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in _SCHEMES:
        raise RedisUrlError(
            f"unknown Redis URL scheme {scheme!r}; expected one of {list(_SCHEMES)}"
        )
    kind, tls = _SCHEMES[scheme.lower()]
    if kind == "single":
        return RedisTarget(kind="single", url=url, tls=tls)
    rest, _, query = rest.partition("?")
    rest = rest.partition("#")[0]
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username, password = _credentials(userinfo) if at else (None, None)
    nodes = tuple(_node(part, _DEFAULT_PORT[kind]) for part in hosts.split(","))
    options = {k: v[-1] for k, v in parse_qs(query).items()}
    segments = [unquote(s) for s in path.split("/") if s]
    if kind == "sentinel":
        if not segments:
            raise RedisUrlError("a redis+sentinel:// URL names the master: .../<name>/<db>")
        if len(segments) > 2:
            raise RedisUrlError("a redis+sentinel:// URL path is /<master name>[/<db>]")
        return RedisTarget(
            kind="sentinel",
            url=url,
            nodes=nodes,
            service=segments[0],
            db=_db(segments[1] if len(segments) > 1 else "0"),
            username=username,
            password=password,
            sentinel_password=options.pop("sentinel_password", None),
            tls=tls,
            options=options,
        )
    if len(segments) > 1 or (segments and _db(segments[0]) != 0):
        raise RedisUrlError("a Redis Cluster has only db 0: redis+cluster://h1:p1,h2:p2[/0]")
    return RedisTarget(
        kind="cluster",
        url=url,
        nodes=nodes,
        username=username,
        password=password,
        tls=tls,
        options=options,
    )


def _credentials(userinfo: str) -> tuple[str | None, str | None]:
    # `password@` (no colon) is a password, as Sentinel URLs usually carry; `user:password@`
    # and `:password@` as in redis:// URLs.
    user, colon, password = userinfo.partition(":")
    if not colon:
        return None, unquote(userinfo) or None
    return unquote(user) or None, unquote(password) or None


def _node(text: str, default_port: int) -> tuple[str, int]:
    text = text.strip()
    if not text:
        raise RedisUrlError("empty host in a Redis URL's host list")
    if text.startswith("["):  # [IPv6]:port
        host, _, after = text[1:].partition("]")
        port_text = after.removeprefix(":")
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            host, port_text = text, ""
    if not host:
        raise RedisUrlError(f"no host in {text!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise RedisUrlError(f"bad port in {text!r}")
    return host, int(port_text)


def _db(text: str) -> int:
    if not text.isdigit():
        raise RedisUrlError(f"the database must be a number, not {text!r}")
    return int(text)


def _async_retry(retries: int) -> AsyncRetry:
    return AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), retries=retries)


class _BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's master discovery with the bounded, waiting pool of the single-node client."""


def make_redis(
    url: str,
    *,
    pool_size: int = DEFAULT_POOL_SIZE,
    pool_timeout_s: float = DEFAULT_POOL_TIMEOUT_S,
) -> RedisClient:
    """A client owning its pool(s): `aclose()` closes them too. See the module docstring."""
    target = parse_redis_url(url)
    if target.kind == "sentinel":
        return _sentinel_client(target, pool_size, pool_timeout_s)
    if target.kind == "cluster":
        return _cluster_client(target, pool_size, pool_timeout_s)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=pool_size,
        timeout=pool_timeout_s,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=15,
        # redis-py's synchronous Retry, kept as it always was: with the asyncio client it does
        # not retry (it only wraps creating the coroutine). Sentinel and Cluster below use the
        # asyncio one, which their failover handling relies on.
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        decode_responses=False,
    )
    return Redis.from_pool(pool)


def _sentinel_client(target: RedisTarget, pool_size: int, pool_timeout_s: float) -> Redis:
    sentinel_kwargs: dict[str, object] = {
        "socket_timeout": SOCKET_TIMEOUT_S,
        "socket_connect_timeout": SOCKET_TIMEOUT_S,
    }
    if target.sentinel_password:
        sentinel_kwargs["password"] = target.sentinel_password
    sentinel = Sentinel(list(target.nodes), sentinel_kwargs=sentinel_kwargs)  # type: ignore[no-untyped-call]
    # Each new connection asks a sentinel for the master; a connection error (or a demoted
    # master's READONLY) drops it, so the next command reaches the new master: no restart.
    client: Redis = sentinel.master_for(
        target.service,
        connection_pool_class=_BlockingSentinelPool,
        max_connections=pool_size,
        timeout=pool_timeout_s,
        db=target.db,
        username=target.username,
        password=target.password,
        ssl=target.tls,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=15,
        retry=_async_retry(2),
        decode_responses=False,
    )
    return client


TORN_DOWN = (AttributeError, RuntimeError)
"""What redis-py raises writing on a connection another task has just closed (`torn_down`)."""


def torn_down(exc: BaseException) -> bool:
    """Whether `exc` is redis-py meeting a connection that another task has just closed.

    When a cluster node fails, the client disconnects that node's connections, including one a
    command is still setting up; that command then fails inside `redis.asyncio.connection`:
    `'NoneType' object has no attribute 'writelines'`, or uvloop's `RuntimeError: unable to
    perform operation on <TCPTransport closed=True>` (redis-py 8.1, each seen in failovers under
    load, as 500s). It means "cannot answer now", like any lost connection."""
    if not isinstance(exc, TORN_DOWN):
        return False
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_globals.get("__name__") == "redis.asyncio.connection":
            return True
        tb = tb.tb_next
    return False


class _TornDownIsUnavailable:
    """Re-raises `torn_down` errors as ConnectionError, so callers see one of `UNAVAILABLE`.
    A plain class, not `@contextmanager`: it wraps every cluster command (0.15 against 1 µs)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if exc is not None and torn_down(exc):
            raise ConnectionError("Redis connection closed while in use") from exc


_torn_down_is_unavailable = _TornDownIsUnavailable()


class _WaitingCluster(RedisCluster):
    """A cluster client whose commands beyond `in_flight` wait (up to `wait_s`) for one to end,
    as the single-node client's blocking pool does, instead of failing with
    `MaxConnectionsError` (which callers would take for "Redis is down")."""

    def __init__(self, *, in_flight: int, wait_s: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._in_flight = asyncio.Semaphore(in_flight)
        self._wait_s = wait_s

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self._wait_s):
                await self._in_flight.acquire()
        except TimeoutError:
            raise ConnectionError("No connection available.") from None
        try:
            with _torn_down_is_unavailable:
                return await super().execute_command(*args, **kwargs)
        finally:
            self._in_flight.release()

    def pipeline(self, transaction: Any = None, shard_hint: Any = None) -> ClusterPipeline:
        if shard_hint:
            raise RedisClusterException("shard_hint is deprecated in cluster mode")
        return _TornDownAwarePipeline(self, transaction)  # type: ignore[abstract]  # as redis-py does


class _TornDownAwarePipeline(ClusterPipeline):
    """A cluster pipeline whose `execute` fails as the commands do on a connection closed
    under it (`torn_down`): ConnectionError."""

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> Any:
        with _torn_down_is_unavailable:
            return await super().execute(raise_on_error, allow_redirections)


def _cluster_client(target: RedisTarget, pool_size: int, pool_timeout_s: float) -> RedisCluster:
    # The cluster client follows MOVED/ASK and refreshes its slot map after a failover; its
    # retries (with this backoff) span the seconds a replica takes to be promoted. Pipelines
    # (not bounded by `in_flight`) get the second half of each node's pool.
    return _WaitingCluster(
        in_flight=pool_size,
        wait_s=pool_timeout_s,
        startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
        username=target.username,
        password=target.password,
        ssl=target.tls,
        max_connections=2 * pool_size,
        socket_timeout=SOCKET_TIMEOUT_S,
        socket_connect_timeout=SOCKET_TIMEOUT_S,
        health_check_interval=15,
        retry=_async_retry(3),
        decode_responses=False,
    )


async def ping(redis: RedisClient) -> None:
    await redis.ping()
