"""A redis-py connection closed under a command in flight is "Redis unavailable" (503), not a
crash (500): the cluster client's commands turn that one AttributeError into ConnectionError."""

from typing import Any

import pytest
from redis.asyncio.cluster import ClusterPipeline, RedisCluster
from redis.asyncio.connection import Connection
from redis.exceptions import ConnectionError as RedisConnectionError

from tessera_shared.redis import UNAVAILABLE, make_redis, torn_down

pytestmark = pytest.mark.unit


async def closed_under_us(kind: str = "writer gone") -> Exception:
    """redis-py writing on a connection whose writer is gone (the genuine error), or whose
    transport uvloop has closed (uvloop's own error, raised by a stand-in writer)."""

    class ClosedTransport:
        def writelines(self, data: object) -> None:
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

    connection = Connection()
    if kind == "transport closed":
        connection._writer = ClosedTransport()  # type: ignore[assignment]
    try:
        await connection._send_packed_command([b"PING"])
    except (AttributeError, RuntimeError) as exc:
        return exc
    finally:
        connection._writer = None  # nothing for its __del__ to close
    raise AssertionError("redis-py no longer fails this way: review `torn_down`")


async def test_the_error_of_a_connection_closed_under_a_command_is_recognised():
    assert torn_down(await closed_under_us())
    assert torn_down(await closed_under_us("transport closed"))
    assert not torn_down(AttributeError("our own bug"))
    assert not torn_down(ValueError("not a connection's error"))
    with pytest.raises(AttributeError) as ours:
        None.missing  # type: ignore[attr-defined]  # noqa: B018
    assert not torn_down(ours.value)  # raised here, not in redis-py's connection module


async def get_through(client: Any, path: str) -> Any:
    if path == "command":
        return await client.get("k")
    pipe = client.pipeline(transaction=False)
    pipe.get("k")
    return await pipe.execute()


@pytest.mark.parametrize("path", ["command", "pipeline"])
@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        ("writer gone", RedisConnectionError),
        ("transport closed", RedisConnectionError),
        ("other", AttributeError),
    ],
)
async def test_the_cluster_client_answers_it_as_unavailable(monkeypatch, path, raised, expected):
    error = await closed_under_us(raised) if raised != "other" else AttributeError("a bug of ours")

    async def failing(*args: Any, **kwargs: Any) -> Any:
        raise error

    if path == "command":
        monkeypatch.setattr(RedisCluster, "execute_command", failing)
    else:
        monkeypatch.setattr(ClusterPipeline, "execute", failing)
    client = make_redis("redis+cluster://127.0.0.1:1", pool_size=2, pool_timeout_s=1)
    with pytest.raises(expected) as caught:
        await get_through(client, path)
    assert isinstance(caught.value, UNAVAILABLE) == (raised != "other")
    # The in-flight slot was given back: more commands than the pool size still get in.
    for _ in range(3):
        with pytest.raises(expected):
            await get_through(client, path)
