"""Servers as containers (testcontainers), used only when TESSERA_TEST_CONTAINERS=1.

Needs `tessera-shared[containers]` and a Docker engine; without either the tests fail loudly
instead of silently falling back.
"""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def postgres_container() -> Iterator[str]:
    from testcontainers.postgres import PostgresContainer

    with PostgresContainer("postgres:17-alpine", driver=None) as pg:
        yield pg.get_connection_url()


@contextmanager
def redis_container() -> Iterator[str]:
    from testcontainers.redis import RedisContainer

    with RedisContainer("redis:7-alpine") as redis:
        host = redis.get_container_host_ip()
        yield f"redis://{host}:{redis.get_exposed_port(6379)}/0"


@contextmanager
def nats_container() -> Iterator[str]:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs

    with DockerContainer("nats:2.11-alpine").with_command("-js").with_exposed_ports(4222) as nats:
        wait_for_logs(nats, "Server is ready")
        yield f"nats://{nats.get_container_host_ip()}:{nats.get_exposed_port(4222)}"
