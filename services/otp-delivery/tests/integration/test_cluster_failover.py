"""Identity's outbox relay and this worker on a three-node JetStream cluster, R3 everywhere,
while the node leading the stream, the consumer and the sent-ids bucket is SIGKILLed.

Identity's side runs as its adapters (outbox table, `OutboxRelay`, `NatsConnection`), the
worker as its app in-process, mail goes to a real SMTP server. Every code must arrive exactly
once: no event lost in the leader change, none sent twice.
"""

import asyncio
import itertools
import logging
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from nats.js import JetStreamContext
from psycopg import AsyncConnection
from psycopg.types.json import Jsonb

from tessera_identity.adapters.outbox_relay import OutboxRelay
from tessera_identity.adapters.postgres import make_pool
from tessera_identity.adapters.sql_outbox import CHANNEL
from tessera_identity.config import IdentitySettings
from tessera_identity.migrate import migrate
from tessera_otp_delivery.adapters.sent_ledger import ensure_bucket
from tessera_otp_delivery.config import OtpDeliverySettings
from tessera_shared.contracts.events import EVENT_ENCODER
from tessera_shared.contracts.streams import ensure_stream
from tessera_shared.devservers import NatsClusterServers
from tessera_shared.nats import NatsConnection
from tessera_shared.testing.nats_cluster import cluster_client, leader, move_leader
from tessera_shared.testing.waiting import eventually

from .conftest import SlowSmtpCatcher
from .test_worker import DUPLICATES, login_code, metric, running, settings_for, settled

pytestmark = pytest.mark.cluster

EVENTS = 200
EVERY_S = 0.02  # one registration's outbox row every 20 ms: ~4 s of traffic


async def test_the_sent_ids_bucket_gets_the_configured_replicas_even_when_it_exists(
    nats_cluster: NatsClusterServers, test_id: str
) -> None:
    bucket = f"sent_{test_id}"
    async with cluster_client(nats_cluster.url) as client:
        js = client.jetstream(timeout=5)
        await ensure_bucket(js, bucket, 60, replicas=1)
        await (await js.key_value(bucket)).put("e1", b"sent")
        assert (await js.stream_info(f"KV_{bucket}")).config.num_replicas == 1

        await ensure_bucket(js, bucket, 60, replicas=3)  # a start with STREAM_REPLICAS=3
        info = await eventually(
            lambda: js.stream_info(f"KV_{bucket}"),
            lambda i: i.cluster is not None and len(i.cluster.replicas or []) == 2,
            within=10,
        )
        assert info.config.num_replicas == 3
        assert (await (await js.key_value(bucket)).get("e1")).value == b"sent"
        await ensure_bucket(js, bucket, 60, replicas=3)  # and again: nothing to change


@asynccontextmanager
async def relay_running(settings: IdentitySettings) -> AsyncIterator[NatsConnection]:
    """Identity's relay as its lifespan wires it, on the cluster."""

    async def declare(js: JetStreamContext) -> None:
        await ensure_stream(js, settings.stream)

    pool = make_pool(settings)
    await pool.open()
    nats = NatsConnection(settings.nats_url, "relay", declare)
    nats.start()
    relay = OutboxRelay(settings.database_url, pool, nats, poll_s=0.2)
    relay.start()
    try:
        yield nats
    finally:
        await relay.stop()
        await nats.close()
        await pool.close()


async def add_to_outbox(database_url: str, worker: OtpDeliverySettings, n: int) -> str:
    """One outbox row as identity's registration writes it; returns its recipient."""
    address = f"r{n:03d}@example.test"
    event = login_code(address, code=f"{n:06d}")
    async with await AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(
            "INSERT INTO outbox (id, subject, payload, headers) VALUES (%s, %s, %s, %s)",
            (uuid.UUID(event.id), worker.stream.requested("email"), EVENT_ENCODER.encode(event),
             Jsonb({})),
        )  # fmt: skip
        await conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
    return address


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def largest_gap(times: list[float], after: float) -> float:
    """The longest time between consecutive instants from the last one before `after` on."""
    times = sorted(times)
    start = max([i for i, t in enumerate(times) if t <= after], default=0)
    window = times[start:]
    return max((b - a for a, b in itertools.pairwise(window)), default=0.0)


async def test_every_code_arrives_exactly_once_when_the_leaders_node_is_killed(
    nats_cluster: NatsClusterServers,
    postgres_url: str,
    test_id: str,
    slow_smtp: Callable[[float], SlowSmtpCatcher],
) -> None:
    # Each mail takes 0.1 s, so several are being sent, and then marked sent in the ledger,
    # at the moment the node dies.
    smtp_catcher = slow_smtp(0.1)
    migrate(postgres_url)
    # ack_wait 12 s (production: 30 s) bounds the wait for an event whose ack was lost; it
    # must exceed a leader election (4 to 9 s), for which a worker keeps its claim on an event
    # it sent while it retries the `sent` mark.
    # Retries back off up to 5 s: 10 deliveries then span ~26 s of NATS trouble.
    worker = msgspec.structs.replace(
        settings_for(
            nats_cluster.url, test_id, smtp_catcher.port, stream_replicas=3, ack_wait_s=12.0
        ),
        retry_max_s=5.0,
    )
    identity = IdentitySettings(
        database_url=postgres_url,
        nats_url=nats_cluster.url,
        stream_name=worker.stream_name,
        subject_prefix=worker.subject_prefix,
        stream_replicas=3,
    )
    arrivals: list[float] = []

    async def watch_mail() -> None:
        seen = 0
        while True:
            now, count = time.time(), len(smtp_catcher.messages)
            arrivals.extend([now] * (count - seen))
            seen = count
            await asyncio.sleep(0.01)

    async with relay_running(identity) as relay, running(worker) as app:
        await eventually(_ready(relay), bool, within=10)
        # Everything the victim node leads: the stream, the worker's consumer, the sent-ids
        # bucket, and it is the node the relay is connected to.
        victim_url = relay.connected_url
        victim = [nats_cluster.node_url(i) for i in range(3)].index(victim_url)
        name = nats_cluster.server_name(victim)
        async with cluster_client(nats_cluster.url) as client:
            await move_leader(client, name, worker.stream_name)
            await move_leader(client, name, worker.stream_name, worker.consumer_name)
            await move_leader(client, name, f"KV_{worker.sent_bucket}")

        relay_log = Recorder()
        logging.getLogger("tessera.outbox").addHandler(relay_log)  # the app set up logging
        watcher = asyncio.create_task(watch_mail())
        addresses: list[str] = []
        killed_at = 0.0
        try:
            for n in range(EVENTS):
                addresses.append(await add_to_outbox(postgres_url, worker, n))
                if n == EVENTS // 3:
                    killed_at = time.time()
                    await asyncio.to_thread(nats_cluster.kill_node, victim)
                await asyncio.sleep(EVERY_S)
            written_at = time.time()

            def delivered() -> Counter[str]:
                return Counter(str(m.get("To", "")) for m in smtp_catcher.messages)

            await eventually(_async(delivered), lambda c: len(c) >= EVENTS, within=30)
            await settled(worker, within=25)
            async with cluster_client(nats_cluster.url) as client:
                info = await client.jetstream().stream_info(worker.stream_name)
                new_leader = await leader(client, worker.stream_name)
            published = await _published_at(postgres_url)
            retried = await _scalar(postgres_url, "SELECT count(*) FROM outbox WHERE attempts > 1")
            duplicates = await metric(app, DUPLICATES)
        finally:
            watcher.cancel()
            logging.getLogger("tessera.outbox").removeHandler(relay_log)
            await asyncio.to_thread(nats_cluster.start_node, victim)

    counts = delivered()
    assert sorted(counts) == sorted(addresses)  # none lost, none unknown
    assert [a for a, c in counts.items() if c != 1] == []  # none twice
    assert len(published) == EVENTS  # every outbox row was acknowledged by JetStream
    assert info.state.messages == EVENTS  # republished ones were dropped by Nats-Msg-Id
    assert new_leader not in (None, name)
    # While there is no leader every publish fails at once; new rows must not make the relay
    # retry (and log) at their pace, here 50 a second.
    failures = [m for m in relay_log.messages if m.startswith("publishing event failed")]
    assert 0 < len(failures) <= 15
    publish_stall = largest_gap(published, killed_at)
    # Back with its store, the node rejoins as a follower and catches up.
    async with cluster_client(nats_cluster.url) as client:
        caught_up = await eventually(
            lambda: client.jetstream().stream_info(worker.stream_name),
            lambda i: (
                i.cluster is not None
                and name in [p.name for p in i.cluster.replicas or [] if p.current]
            ),
            within=15,
        )
    assert caught_up.state.messages == EVENTS
    consume_stall = largest_gap(arrivals, killed_at)
    print(
        f"\nfailover: killed {name} (stream, consumer and bucket leader; the relay's node)"
        f" after {EVENTS // 3 + 1} of {EVENTS} events; new stream leader {new_leader}."
        f"\n  publishing stalled {publish_stall:.2f} s, delivery stalled {consume_stall:.2f} s;"
        f" last mail {max(arrivals) - written_at:.2f} s after the last outbox row;"
        f"\n  {retried} outbox rows needed another publish, the ledger stopped {duplicates:.0f}"
        f" redelivered events; the relay logged {len(failures)} failed publishes"
    )


async def _scalar(database_url: str, query: str) -> Any:
    async with await AsyncConnection.connect(database_url) as conn:
        row = await (await conn.execute(query)).fetchone()
    return row[0] if row else None


async def _published_at(database_url: str) -> list[float]:
    async with await AsyncConnection.connect(database_url) as conn:
        rows = await (
            await conn.execute(
                "SELECT extract(epoch FROM published_at) FROM outbox WHERE published_at IS NOT NULL"
            )
        ).fetchall()
    return [float(row[0]) for row in rows]


def _ready(connection: NatsConnection):  # type: ignore[no-untyped-def]
    async def probe() -> bool:
        try:
            await connection.check()
        except Exception:
            return False
        return True

    return probe


def _async(func: Any):  # type: ignore[no-untyped-def]
    async def call():  # type: ignore[no-untyped-def]
        return func()

    return call
