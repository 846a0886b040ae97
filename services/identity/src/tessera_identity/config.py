"""Identity settings, from `TESSERA_IDENTITY_*` environment variables."""

from typing import Annotated

import msgspec

from tessera_shared.config import load_config
from tessera_shared.settings import Port, ServiceSettings

PREFIX = "TESSERA_IDENTITY_"


class IdentitySettings(ServiceSettings, kw_only=True, frozen=True):
    port: Port = 8001
    database_url: str = "postgresql://postgres@127.0.0.1:5432/tessera"
    """PostgreSQL URL (libpq form). The database must exist; `migrate` creates the tables."""
    database_pool_min: Annotated[int, msgspec.Meta(ge=0)] = 1
    database_pool_max: Annotated[int, msgspec.Meta(ge=1)] = 10


def load_settings() -> IdentitySettings:
    return load_config(IdentitySettings, PREFIX)
