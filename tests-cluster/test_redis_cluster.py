"""The same two instances on a Redis Cluster (three masters, a replica each) instead of
Sentinel: every script and multi-key call on one slot, the whole flow, and a master's death."""

import pytest

from .scenarios import stores_die_under_load, whole_flow

REDIS_TOPOLOGY = "cluster"
"""Read by the `stores` fixture: this module's parts share a Redis Cluster."""


def test_the_whole_flow_on_a_redis_cluster(cluster):
    assert cluster.topology.name.startswith("redis-cluster"), cluster.topology.name
    whole_flow(cluster)


def test_a_redis_cluster_master_and_the_nats_stream_leader_die_under_load(cluster):
    if not cluster.topology.name.endswith("nats-cluster"):
        pytest.skip(f"one NATS server ({cluster.topology.name}): no NATS failover")
    print("\n" + stores_die_under_load(cluster))
