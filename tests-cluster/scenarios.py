"""What the two-instance runs check on every store topology: the whole flow, and stores losing a
node under load. `test_two_instances.py` runs them on the default topology (Redis Sentinel),
`test_redis_cluster.py` on a Redis Cluster; both with a three-node NATS cluster."""

import asyncio
import threading
import time
import uuid
from collections import Counter

import jwt
import nats
import psycopg

from tessera_shared.testing.nats_cluster import cluster_client, leader

from .client import (
    PASSWORD,
    Client,
    cookie_from,
    email_code,
    emails_to,
    random_ip,
    sms_code,
    sms_codes,
)
from .conftest import ACK_WAIT_S


def db(cluster):
    return psycopg.connect(cluster.env["TESSERA_IDENTITY_DATABASE_URL"], autocommit=True)


def user_status(cluster, user_id: str) -> str:
    with db(cluster) as conn:
        row = conn.execute("SELECT status FROM users WHERE id = %s", (user_id,)).fetchone()
    return str(row[0]) if row else "missing"


def signed_in(client: Client, address: str, via: int | None = None):
    """A new active account, signed in: (user id, access token, refresh cookie)."""
    user_id = client.active_account(address)
    status, headers, body = client.authenticate(address, via=via)
    assert status == 200, body
    return user_id, body["access_token"], cookie_from(headers)


def whole_flow(cluster) -> None:
    """Register -> code -> verify -> sign in -> refresh -> phone -> 2FA -> refresh -> logout,
    each call through the other gateway than the one before."""
    client = Client(cluster)
    address = f"flow.{uuid.uuid4().hex[:8]}@example.com"
    user_id = client.register(address)  # A
    assert user_status(cluster, user_id) == "pending"
    status, _, body = client.verify_registration(user_id, email_code(cluster, address))  # B
    assert (status, body["status"]) == (200, "success")
    assert user_status(cluster, user_id) == "active"

    status, headers, body = client.authenticate(address)  # A
    assert status == 200, body
    cookie, access = cookie_from(headers), body["access_token"]
    status, headers, body = client.refresh(cookie)  # B
    assert status == 200, body
    cookie, access = cookie_from(headers), body["access_token"]
    status, _, me = client.bearer("GET", "/v1/users/me", access)  # A
    assert status == 200, me

    number = f"+4179{uuid.uuid4().int % 10**7:07d}"
    status, _, body = client.bearer(
        "POST", "/v1/users/credentials", access, {"type": "phone", "value": number}
    )  # B
    assert status == 200, body
    status, _, body = client.bearer(
        "POST",
        "/v1/users/verify-credential",
        access,
        {"user_id": user_id, "credential_type": "phone", "otp": sms_code(cluster, number)},
    )  # A
    assert (status, body.get("mfa_mode")) == (200, "sms"), body

    status, headers, body = client.authenticate(address)  # B
    assert (status, body["mfa_required"]) == (200, True), body
    assert "set-cookie" not in headers
    challenge = body["challenge_token"]
    status, headers, body = client.request(
        "POST",
        "/v1/verify-2FA",
        {"otp": sms_code(cluster, number, 2)},
        **{"X-MFA-Challenge": challenge, **client.device},
    )  # A
    assert status == 200, body
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["amr"] == [
        "pwd",
        "otp",
    ]
    access, cookie = body["access_token"], cookie_from(headers)
    status, headers, body = client.refresh(cookie)  # B
    assert status == 200, body
    access = body["access_token"]

    status, _, body = client.bearer("POST", "/v1/logout", access)  # A
    assert status == 200, body
    status, _, body = client.refresh(cookie_from(headers))  # B
    assert (status, body["code"]) == (401, "refresh_token_invalid")
    for via in (0, 1):
        status, _, body = client.bearer("GET", "/v1/users/me", access, via=via)
        assert (status, body["code"]) == (401, "token_invalid")
    assert client.sent_to[:12] == [0, 1] * 6
    assert len(emails_to(cluster, address)) == 1
    assert len(sms_codes(cluster, number)) == 2


def stream_messages(cluster) -> int:
    async def count() -> int:
        connection = await nats.connect(servers=cluster.topology.nats_url.split(","))
        try:
            info = await connection.jetstream().stream_info(
                cluster.env["TESSERA_IDENTITY_STREAM_NAME"]
            )
            return int(info.state.messages)
        finally:
            await connection.close()

    return asyncio.run(count())


def outbox(cluster) -> tuple[int, int]:
    """(rows, rows not yet published)."""
    with db(cluster) as conn:
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE published_at IS NULL) FROM outbox"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def mails_per_recipient(cluster) -> Counter[str]:
    return Counter(str(m.get("To", "")) for m in cluster.mail.messages)


def wait_for_codes(cluster, addresses: list[str], within: float) -> None:
    deadline = time.monotonic() + within
    wanted = set(addresses)
    while time.monotonic() < deadline:
        got = {str(m.get("To", "")) for m in cluster.mail.messages} & wanted
        if got == wanted:
            return
        time.sleep(0.2)
    missing = wanted - {str(m.get("To", "")) for m in cluster.mail.messages}
    raise AssertionError(
        f"{len(missing)} of {len(wanted)} codes never arrived: {sorted(missing)[:5]}"
    )


REGISTRATIONS = 200
"""Registrations accepted around the kill (at least): each must get exactly one code."""
HEALED_AFTER_S = 12.0
"""Every answer from this long after the kill on must be a 200."""


def nats_stream_leader(cluster) -> str:
    """The topology's name ("nats:<i>") of the node leading the suite's stream."""
    nats_nodes = cluster.topology.nats.servers
    stream = cluster.env["TESSERA_IDENTITY_STREAM_NAME"]

    async def find() -> str | None:
        async with cluster_client(cluster.topology.nats_url) as client:
            return await leader(client, stream)

    name = asyncio.run(find())
    names = [nats_nodes.server_name(i) for i in range(len(nats_nodes.client_ports))]
    return f"nats:{names.index(name)}"


def stores_die_under_load(cluster) -> str:
    """SIGKILL the Redis primary (Sentinel's, or a Redis Cluster master) and the NATS node
    leading the stream while clients register, sign in and refresh through both gateways.

    Answers during the failover may be 503 (documented), never 500 nor a dropped connection;
    from `HEALED_AFTER_S` on every answer is a 200; at least `REGISTRATIONS` registrations are
    accepted around the kill and each gets exactly one code; every refresh family made before
    the kill rotates afterwards (none lost, none revoked as a false reuse). Returns a summary."""
    client = Client(cluster)
    address = f"failover.{uuid.uuid4().hex[:8]}@example.com"
    client.active_account(address)
    # The families' own account: the load's sign-ins would evict them (a user keeps at most
    # `MAX_SESSIONS_PER_USER`, 50, families).
    owner = f"families.{uuid.uuid4().hex[:8]}@example.com"
    client.active_account(owner)
    families = []
    for i in range(6):
        device = Client(cluster, device=f"failover-{i}-{uuid.uuid4().hex[:6]}")
        status, headers, body = device.authenticate(owner, via=i % 2)
        assert status == 200, body
        status, headers, body = device.refresh(cookie_from(headers), via=(i + 1) % 2)
        assert status == 200, body
        families.append((device, cookie_from(headers)))
    run = uuid.uuid4().hex[:6]
    answers: list[tuple[float, object]] = []
    registered: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            one = Client(cluster, ip=random_ip())
            try:
                if n % 3:
                    target = f"failover{run}.{worker}.{n}@example.com"
                    status, _, _ = one.request(
                        "POST",
                        "/v1/users/initiate-registration",
                        {
                            "credential_type": "email",
                            "credential_value": target,
                            "password": PASSWORD,
                            "terms_accepted": True,
                            "privacy_policy_accepted": True,
                        },
                        via=n % 2,
                        **{"X-API-Key": cluster.api_key},
                    )
                    if status == 200:
                        with lock:
                            registered.append(target)
                else:
                    status, _, _ = one.authenticate(address, via=(n // 3) % 2)
                outcome: object = status
            except OSError as error:
                outcome = type(error).__name__
            with lock:
                answers.append((time.monotonic(), outcome))

    threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    nats_node = nats_stream_leader(cluster)
    killed = time.monotonic()
    cluster.topology.kill("redis:primary")
    cluster.topology.kill(nats_node)
    deadline = killed + 60
    while time.monotonic() < deadline and (
        time.monotonic() < killed + HEALED_AFTER_S + 3 or len(registered) < REGISTRATIONS
    ):
        time.sleep(0.2)
    stop.set()
    for thread in threads:
        thread.join(30)

    statuses = Counter(str(o) for _, o in answers)
    assert set(statuses) <= {"200", "503"}, statuses
    failed_after = [at - killed for at, o in answers if at > killed and o != 200]
    healed_by = max(failed_after, default=0.0)
    last_seconds = [o for at, o in answers if at > killed + HEALED_AFTER_S]
    assert last_seconds
    assert all(o == 200 for o in last_seconds), Counter(map(str, last_seconds))
    assert len(registered) >= REGISTRATIONS

    for i, (device, cookie) in enumerate(families):
        status, headers, body = device.refresh(cookie, via=i % 2)
        assert status == 200, body  # the family survived the failover
        status, _, body = device.refresh(cookie_from(headers), via=(i + 1) % 2)
        assert status == 200, body  # and was not revoked as a reuse

    wait_for_codes(cluster, registered, within=30 + ACK_WAIT_S)
    time.sleep(ACK_WAIT_S + 1)
    per_recipient = mails_per_recipient(cluster)
    repeated = {a: per_recipient[a] for a in registered if per_recipient[a] != 1}
    assert repeated == {}
    return (
        f"store failover ({cluster.topology.name}, NATS {nats_node} led the stream): {statuses},"
        f" last failure {healed_by:.1f}s after the kill, {len(registered)} registrations, each"
        f" code sent once, {len(families)} refresh families intact"
    )
