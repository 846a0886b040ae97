"""A three-node JetStream cluster: replicas as configured, and a connection that survives a node.

These kill and restart nodes of the session's shared `nats_cluster`; each leaves all three
running (a restarted node rejoins with its store).
"""

import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import nats
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamInfo

from tessera_shared.contracts.streams import OtpStream, ensure_stream
from tessera_shared.devservers import NatsClusterServers, free_port
from tessera_shared.nats import NatsConnection
from tessera_shared.testing.nats_cluster import cluster_client, move_leader
from tessera_shared.testing.waiting import eventually

pytestmark = pytest.mark.cluster


@asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[JetStreamContext]:
    client = await nats.connect(servers=url.split(","), connect_timeout=2)
    try:
        yield client.jetstream(timeout=5)
    finally:
        await client.close()


@contextmanager
def node_down(cluster: NatsClusterServers, i: int) -> Iterator[None]:
    """Node `i` SIGKILLed for the block, then started again with its store."""
    cluster.kill_node(i)
    try:
        yield
    finally:
        cluster.start_node(i)


async def published(js: JetStreamContext, subject: str, msg_id: str) -> bool:
    """Whether the stream took the message now (False while nobody answers for it yet)."""
    try:
        await js.publish(subject, b"{}", headers={"Nats-Msg-Id": msg_id})
    except nats.js.errors.NoStreamResponseError:  # JetStream's word for "no responders"
        return False
    return True


def peers(info: StreamInfo) -> list[str]:
    assert info.cluster is not None
    return sorted(peer.name for peer in info.cluster.replicas or [])


async def test_the_cluster_is_three_nodes_and_its_url_lists_them(nats_cluster):
    assert len(nats_cluster.url.split(",")) == 3
    assert all(pid is not None for pid in nats_cluster.pids)
    async with jetstream(nats_cluster.url) as js:
        assert (await js.account_info()).streams >= 0


async def test_an_r3_stream_has_a_leader_and_two_peers_and_redeclaring_keeps_it(
    nats_cluster, test_id
):
    stream = OtpStream(name=f"R3_{test_id}", subject_prefix=f"t{test_id}.", replicas=3)
    async with jetstream(nats_cluster.url) as js:
        await ensure_stream(js, stream)
        first = await js.stream_info(stream.name)
        await js.publish(stream.requested("email"), b"{}", headers={"Nats-Msg-Id": "one"})

        await ensure_stream(js, stream)  # as every reconnect does: same config, no error
        again = await js.stream_info(stream.name)

    assert first.config.num_replicas == again.config.num_replicas == 3
    assert first.cluster is not None
    assert first.cluster.leader is not None
    names = {nats_cluster.server_name(i) for i in range(3)}
    assert set(peers(first)) == names - {first.cluster.leader}
    assert len(peers(first)) == 2
    assert again.state.messages == 1  # the update left the data alone


async def test_a_changed_replica_count_is_applied_to_the_existing_stream(nats_cluster, test_id):
    stream = OtpStream(name=f"SCALE_{test_id}", subject_prefix=f"t{test_id}.", replicas=1)
    async with jetstream(nats_cluster.url) as js:
        await ensure_stream(js, stream)
        # The new stream's interest reaches the other nodes a moment later (no responders
        # until then, seen once on a loaded machine); the message id makes a retry harmless.
        await eventually(
            lambda: published(js, stream.requested("email"), msg_id="scale-1"),
            lambda ok: ok,
            within=10,
        )
        assert peers(await js.stream_info(stream.name)) == []

        await ensure_stream(
            js, OtpStream(name=stream.name, subject_prefix=f"t{test_id}.", replicas=3)
        )
        # The new peers are added (and catch up) in the background.
        scaled = await eventually(
            lambda: js.stream_info(stream.name), lambda info: len(peers(info)) == 2, within=10
        )
        assert scaled.config.num_replicas == 3
        assert scaled.state.messages == 1

        await ensure_stream(js, stream)  # and back down
        assert (await js.stream_info(stream.name)).config.num_replicas == 1


@pytest.mark.parametrize(
    ("leader_there", "limit_s"),
    # A node that led nothing: the client moves and the next publish goes through at once. The
    # stream's leader: the survivors first elect a new one (Raft election timeout, 4 to 9 s on a
    # quiet machine; over 10 s seen once on a loaded one).
    [(False, 2.0), (True, 20.0)],
    ids=["stream-leader-elsewhere", "stream-leader-on-that-node"],
)
async def test_a_connection_moves_to_another_node_when_its_node_dies(
    nats_cluster, test_id, caplog, leader_there, limit_s
):
    caplog.set_level(logging.INFO, logger="tessera.nats")
    # Credentials in the URLs (the dev cluster has no auth and ignores them): never logged.
    url = ",".join(u.replace("nats://", "nats://svc:s3cret@") for u in nats_cluster.url.split(","))
    stream = OtpStream(name=f"MOVE_{test_id}", subject_prefix=f"t{test_id}.", replicas=3)

    async def declare(js: JetStreamContext) -> None:
        await ensure_stream(js, stream)

    connection = NatsConnection(url, f"move-{test_id}", declare)
    connection.start()
    try:
        await eventually(_ready(connection), bool, within=10)
        before = connection.connected_url
        assert before is not None
        assert "s3cret" not in before
        node = [nats_cluster.node_url(i) for i in range(3)].index(before)

        lead = node if leader_there else (node + 1) % 3
        async with cluster_client(nats_cluster.url) as client:
            await move_leader(client, nats_cluster.server_name(lead), stream.name)

        with node_down(nats_cluster, node):
            killed = time.monotonic()
            await eventually(_moved(connection, before), bool, within=5, interval=0.02)
            moved = time.monotonic() - killed
            ack = await eventually(
                _publish(connection, stream.requested("email")), bool, within=limit_s, interval=0.05
            )
            took = time.monotonic() - killed
            after = connection.connected_url
            assert after is not None
            assert after != before
            assert ack is not None
            assert took < limit_s, f"the first publish after the kill took {took:.1f}s"
            # Re-declared on the new node without error: ready again. Declaring is a JetStream
            # API call, answered by the meta leader: when the killed node held it (placement we
            # cannot steer without the system account), that waits for the meta election too.
            await eventually(_ready(connection), bool, within=25)
            print(
                f"\nreconnect: on another node after {moved:.2f}s, first publish acknowledged"
                f" after {took:.2f}s (stream leader on the killed node: {leader_there})"
            )
    finally:
        await connection.close()

    lines = [r.getMessage() for r in caplog.records if r.name == "tessera.nats"]
    assert f"NATS disconnected from {before}; reconnecting" in lines
    assert f"NATS reconnected to {after}" in lines
    assert not any("s3cret" in line or "svc" in line for line in lines)


def _ready(connection: NatsConnection):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        try:
            await connection.check()
        except Exception:
            return False
        return True

    return probe


def _moved(connection: NatsConnection, before: str):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        return connection.connected_url not in (None, before)

    return probe


def _publish(connection: NatsConnection, subject: str):  # type: ignore[no-untyped-def]
    async def probe() -> object:
        try:
            return await connection.js.publish(subject, b"{}", timeout=1)
        except Exception:
            return None

    return probe


@pytest.fixture(autouse=True)
def _all_nodes_running_after(nats_cluster: NatsClusterServers) -> Iterator[None]:
    yield
    assert all(pid is not None for pid in nats_cluster.pids), "a test left a node down"


async def test_with_credentials_a_connection_also_reaches_the_nodes_the_cluster_announced(
    own_servers_dir, test_id
):
    # Only one node listed: the others are learned from the cluster, with URLs that carry no
    # credentials. When the listed one dies the client must still sign in to them.
    cluster = NatsClusterServers(
        own_servers_dir / "auth-cluster",
        [free_port() for _ in range(3)],
        [free_port() for _ in range(3)],
        user="svc",
        password="s3cr%t",
    )
    cluster.start()
    connection = NatsConnection(
        cluster.node_url(0).replace("nats://", "nats://svc:s3cr%25t@"), f"auth-{test_id}"
    )
    try:
        connection.start()
        await eventually(_ready(connection), bool, within=10)
        assert connection.connected_url == cluster.node_url(0)
        cluster.kill_node(0)
        await eventually(_moved(connection, cluster.node_url(0)), bool, within=10, interval=0.05)
        assert connection.connected_url in (cluster.node_url(1), cluster.node_url(2))
    finally:
        await connection.close()
        cluster.stop()
