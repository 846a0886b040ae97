"""The dev/test servers really are servers: they keep data across restarts where asked to."""

import nats
import psycopg
import redis

from tessera_shared.contracts.streams import OtpStream, ensure_stream


def test_postgres_keeps_its_data_across_a_restart(own_postgres):
    with psycopg.connect(own_postgres.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    own_postgres.stop()
    assert own_postgres.pid is None
    own_postgres.start()
    with psycopg.connect(own_postgres.url()) as conn:
        assert conn.execute("SELECT v FROM kept").fetchone() == (42,)


def test_redis_with_append_only_file_keeps_keys_across_a_restart(own_redis):
    client = redis.Redis.from_url(own_redis.url())
    client.set("family", "kept", ex=60)
    client.close()
    own_redis.stop()
    own_redis.start()
    client = redis.Redis.from_url(own_redis.url())
    assert client.get("family") == b"kept"
    assert 0 < client.ttl("family") <= 60
    client.close()


async def test_nats_keeps_streams_and_messages_across_a_restart(own_nats):
    stream = OtpStream(name="KEEP", subject_prefix="t.")
    client = await nats.connect(own_nats.url())
    await ensure_stream(client.jetstream(), stream)
    await ensure_stream(client.jetstream(), stream)  # idempotent
    await client.jetstream().publish(stream.requested("email"), b"{}")
    await client.close()
    own_nats.stop()
    own_nats.start()
    client = await nats.connect(own_nats.url())
    info = await client.jetstream().stream_info("KEEP")
    assert info.state.messages == 1
    assert info.config.subjects == ["t.otp.>"]
    await client.close()
