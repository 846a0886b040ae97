"""Two instances of every part on shared stores: what clients see and what is stored.

The instance-death test and the store-node-death test run last in this file, in that order: the
first kills instance B and starts it again, the second leaves a store node dead."""

import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jwt
import pytest

from .client import (
    PASSWORD,
    Client,
    call,
    cookie_from,
    email_code,
    random_ip,
)
from .conftest import ACK_WAIT_S, AUTH_PER_MINUTE, SIGNING_KEY_DELAY_S
from .scenarios import (
    mails_per_recipient,
    outbox,
    signed_in,
    stores_die_under_load,
    stream_messages,
    user_status,
    wait_for_codes,
    whole_flow,
)


def test_the_whole_flow_alternating_between_the_two_gateways(cluster):
    whole_flow(cluster)


def test_the_sign_in_rate_limit_is_shared_by_both_gateways(cluster):
    client = Client(cluster)
    answers = [
        client.request(
            "POST",
            "/v1/authenticate",
            {"username": f"nobody{i}@example.com", "password": "wrong password"},
            **{"X-Device-ID": f"rl-{i}", "X-App-ID": "web-app"},
        )
        for i in range(AUTH_PER_MINUTE)
    ]
    assert [a[0] for a in answers] == [401] * AUTH_PER_MINUTE, [a[2] for a in answers]
    assert Counter(client.sent_to) == {0: AUTH_PER_MINUTE // 2, 1: AUTH_PER_MINUTE // 2}
    for via in (0, 1):
        status, headers, body = client.request(
            "POST",
            "/v1/authenticate",
            {"username": "nobody@example.com", "password": "wrong password"},
            via=via,
            **{"X-Device-ID": "rl-last", "X-App-ID": "web-app"},
        )
        assert (status, body["code"]) == (429, "rate_limited"), body
        assert int(headers["retry-after"]) >= 1
    # Another client IP is not affected.
    other = Client(cluster)
    status, _, _ = other.authenticate("nobody@example.com", "wrong password", via=1)
    assert status == 401


def test_a_logout_through_one_gateway_is_refused_at_once_through_the_other(cluster):
    client = Client(cluster)
    _, access, _ = signed_in(client, f"revoke.{uuid.uuid4().hex[:8]}@example.com", via=0)
    for via in (0, 1):
        status, _, body = client.bearer("GET", "/v1/sessions", access, via=via)
        assert status == 200, body
    status, _, _ = client.bearer("POST", "/v1/logout", access, via=0)
    assert status == 200
    status, _, body = client.bearer("GET", "/v1/sessions", access, via=1)  # no wait at all
    assert (status, body["code"]) == (401, "token_invalid")


def test_many_registrations_over_both_gateways_each_get_exactly_one_code(cluster):
    count = 150
    run = uuid.uuid4().hex[:6]
    addresses = [f"bulk{run}.{i}@example.com" for i in range(count)]

    def register(i: int) -> str:
        return Client(cluster).register(addresses[i], via=i % 2)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        user_ids = list(pool.map(register, range(count)))
    registered = time.monotonic() - started
    wait_for_codes(cluster, addresses, within=60)
    delivered = time.monotonic() - started
    time.sleep(ACK_WAIT_S + 1)  # a second copy would come after an ack wait at the latest

    per_recipient = mails_per_recipient(cluster)
    assert {a: per_recipient[a] for a in addresses} == dict.fromkeys(addresses, 1)
    assert len(set(user_ids)) == count
    rows, unpublished = outbox(cluster)
    assert unpublished == 0
    assert stream_messages(cluster) == rows  # each outbox row published once
    print(f"\n{count} registrations in {registered:.1f}s, all codes in {delivered:.1f}s")


def test_concurrent_refreshes_of_one_cookie_via_both_gateways_keep_the_session(cluster):
    client = Client(cluster)
    address = f"race.{uuid.uuid4().hex[:8]}@example.com"
    user_id, _, cookie = signed_in(client, address)
    barrier = threading.Barrier(8)

    def refresh(i: int):
        barrier.wait()
        return client.refresh(cookie, via=i % 2)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(refresh, range(8)))
    assert [a[0] for a in answers] == [200] * 8, [a[2] for a in answers]
    successors = {cookie_from(headers) for _, headers, _ in answers}
    assert len(successors) == 1  # exactly one new family member, the same for every racer
    assert successors != {cookie}
    [successor] = successors
    for _, _, body in answers:
        status, _, me = client.bearer("GET", "/v1/users/me", body["access_token"])
        assert status == 200, me
    # No reuse revocation: the session lives on, and the family moves on from the successor.
    status, _headers, body = client.refresh(successor)
    assert status == 200, body
    status, _, listed = client.bearer("GET", "/v1/sessions", body["access_token"])
    assert status == 200
    assert [s["device_id"] for s in listed["sessions"]] == [client.device["X-Device-ID"]]
    assert user_status(cluster, user_id) == "active"


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


WORKER_CONCURRENCY = 8
"""Events one otp-delivery worker handles at once (`TESSERA_OTP_CONCURRENCY`, its default)."""


class Loop:
    """Calls `GET /v1/users/me` with every token in `tokens`, through both gateways, until
    stopped; keeps every answer that is not a 200, with its time."""

    def __init__(self, cluster, tokens: list[str]) -> None:
        self.cluster = cluster
        self.tokens = tokens
        self.failures: list[tuple[float, int, str, object]] = []
        self.calls = 0
        self.clean_rounds = 0
        """Consecutive rounds over every token and both gateways without a failure."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        client = Client(self.cluster)
        while not self._stop.is_set():
            failed = False
            for token in list(self.tokens):
                for via in (0, 1):
                    status, _, body = client.bearer("GET", "/v1/users/me", token, via=via)
                    self.calls += 1
                    if status != 200:
                        failed = True
                        self.failures.append((time.monotonic(), via, kid_of(token), body))
            self.clean_rounds = 0 if failed else self.clean_rounds + 1
            time.sleep(0.02)

    def __enter__(self) -> "Loop":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


def rotate_keys(cluster) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tessera_session", "keys", "rotate"],
        env={**cluster.process("A", "session").env},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def test_signing_keys_rotate_while_both_instances_run(cluster):
    """`keys rotate` into the shared folder while both sessions run, with no restart: each
    publishes the new key within a second, signs with it only after `SIGNING_KEY_DELAY_S`, and
    no token is refused on either gateway at any point."""
    client = Client(cluster)
    address = f"rotate.{uuid.uuid4().hex[:8]}@example.com"
    client.active_account(address)

    def sign_in(via: int) -> str:
        status, _, body = Client(cluster).authenticate(address, via=via)
        assert status == 200, body
        return str(body["access_token"])

    tokens = [sign_in(0), sign_in(1)]
    old_kid = kid_of(tokens[0])
    assert kid_of(tokens[1]) == old_kid
    keys_before = {p.stem for p in Path(cluster.keys_dir).glob("*.pem")}

    with Loop(cluster, tokens) as loop:
        time.sleep(1.05 - time.time() % 1)  # key ids carry the time to the second
        rotate_keys(cluster)
        made = time.time()
        [new_kid] = {p.stem for p in Path(cluster.keys_dir).glob("*.pem")} - keys_before
        for gateway in cluster.gateways:
            wait_until(lambda g=gateway: new_kid in published(g), within=5)
        # Published everywhere, signing nowhere yet.
        tokens += [sign_in(0), sign_in(1)]
        assert {kid_of(t) for t in tokens} == {old_kid}
        time.sleep(max(0.0, int(made) + SIGNING_KEY_DELAY_S - time.time()) + 0.5)
        tokens += [sign_in(0), sign_in(1)]
        assert [kid_of(t) for t in tokens[-2:]] == [new_kid, new_kid]
        clean = loop.clean_rounds
        wait_until(lambda: loop.clean_rounds >= clean + 3, within=15)

    assert loop.failures == [], loop.failures[:3]
    for token in tokens:
        for via in (0, 1):
            status, _, body = client.bearer("GET", "/v1/users/me", token, via=via)
            assert status == 200, (kid_of(token), via, body)
    print(f"\nrotation: {loop.calls} calls, 0 refused, new key signing {SIGNING_KEY_DELAY_S}s on")


def published(gateway: str) -> set[str]:
    _, _, jwks = call(f"{gateway}/.well-known/jwks.json")
    return {k["kid"] for k in jwks["keys"]}


def wait_until(condition, within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_killing_one_instance_of_every_part_under_load(cluster):
    """SIGKILL gateway, identity, session and worker B while clients register and sign in."""
    client = Client(cluster)
    address = f"load.{uuid.uuid4().hex[:8]}@example.com"
    client.active_account(address)
    run = uuid.uuid4().hex[:6]
    answers: list[tuple[int, float, object]] = []  # (gateway, time, status or error name)
    registered: list[tuple[str, float]] = []
    killed_at: list[float] = []
    stop = threading.Event()
    lock = threading.Lock()

    def load(worker: int) -> None:
        n = 0
        while not stop.is_set():
            via = n % 2
            n += 1
            one = Client(cluster, ip=random_ip())
            target = f"kill{run}.{worker}.{n}@example.com"
            try:
                if n % 3:
                    sent = time.monotonic()
                    one.register(target, via=via)
                    with lock:
                        registered.append((target, sent))
                    outcome: object = 200
                else:
                    status, _, _body = one.authenticate(address, via=via)
                    outcome = status
            except AssertionError as error:
                outcome = str(error)[:200]
            except OSError as error:  # connection refused / reset: the dead gateway
                outcome = type(error).__name__
            with lock:
                answers.append((via, time.monotonic(), outcome))

    threads = [threading.Thread(target=load, args=(w,), daemon=True) for w in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    killed_at.append(time.monotonic())
    for part in ("otp-delivery", "identity", "session", "gateway"):
        cluster.kill("B", part)
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(30)

    [kill] = killed_at
    via_a = [outcome for via, _, outcome in answers if via == 0]
    via_b_after = [outcome for via, at, outcome in answers if via == 1 and at > kill + 0.5]
    assert via_a
    assert all(o == 200 for o in via_a), Counter(map(str, via_a))
    assert via_b_after
    assert all(isinstance(o, str) and "Error" in o for o in via_b_after)
    statuses = Counter(str(o) for _, _, o in answers)
    assert not any("500" in s for s in statuses), statuses
    before_kill = [t for t, sent in registered if sent < kill]
    assert before_kill

    # Every accepted registration gets its code; those worker B held come from worker A after
    # the ack wait. Delivery is at-least-once: an event worker B had handed to the SMTP server
    # but not yet marked sent when it died goes out again, with the same code (sent_ledger.py).
    # So a repeat is allowed only for an event in worker B's hands at the kill (at most its
    # CONCURRENCY), never for a registration made after it.
    addresses = [t for t, _ in registered]
    wait_for_codes(cluster, addresses, within=30 + ACK_WAIT_S)
    time.sleep(ACK_WAIT_S + 1)
    per_recipient = mails_per_recipient(cluster)
    repeated = {a: per_recipient[a] for a in addresses if per_recipient[a] != 1}
    assert all(count == 2 for count in repeated.values()), repeated
    assert len(repeated) <= WORKER_CONCURRENCY
    sent_at = dict(registered)
    assert all(sent_at[a] < kill for a in repeated), "only what worker B held when it died"
    for address in repeated:
        assert email_code(cluster, address, 1) == email_code(cluster, address, 2)
    print(
        f"\n{len(answers)} requests, {statuses}, {len(registered)} registrations "
        f"({len(before_kill)} before the kill), {len(repeated)} codes sent twice"
    )

    for part in ("identity", "session", "otp-delivery", "gateway"):
        cluster.restart("B", part)
    status, _, _ = Client(cluster).authenticate(address, PASSWORD, via=1)
    assert status == 200


def test_a_redis_primary_and_the_nats_stream_leader_die_under_load(cluster):
    if not cluster.topology.name.startswith(("redis-sentinel", "redis-cluster")) or (
        not cluster.topology.name.endswith("nats-cluster")
    ):
        pytest.skip(f"one Redis or one NATS server ({cluster.topology.name}): no failover")
    print("\n" + stores_die_under_load(cluster))
