"""Real PostgreSQL, Redis and NATS servers from PyPI wheels, for local runs and tests.

Each server is a child process of the caller, bound to 127.0.0.1, with its data in a folder the
caller chooses; `stop()` and `start()` can be called again (tests use that for outages).
"""

from tessera_shared.devservers.nats import NatsServer
from tessera_shared.devservers.nats_cluster import NatsClusterServers
from tessera_shared.devservers.ports import free_port, port_is_free
from tessera_shared.devservers.postgres import PostgresServer
from tessera_shared.devservers.process import ServerError
from tessera_shared.devservers.redis import RedisServer
from tessera_shared.devservers.redis_topologies import (
    RedisClusterServers,
    RedisSentinelServers,
    free_cluster_ports,
)

__all__ = [
    "NatsClusterServers",
    "NatsServer",
    "PostgresServer",
    "RedisClusterServers",
    "RedisSentinelServers",
    "RedisServer",
    "ServerError",
    "free_cluster_ports",
    "free_port",
    "port_is_free",
]
