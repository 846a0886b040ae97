"""The admin API between the gateway and identity: the scopes of an admin key, and the headers
the gateway forwards an admin request's checked key with (the internal token vouching for them).
"""

from enum import StrEnum


class AdminScope(StrEnum):
    """What an admin key may do on the admin API; a closed set. The gateway issues and checks
    keys; identity decides which scope each route needs."""

    USERS_READ = "users:read"
    USERS_WRITE = "users:write"
    SESSIONS_WRITE = "sessions:write"
    AUDIT_READ = "audit:read"


ADMIN_KEY_ID_HEADER = "x-admin-key-id"
"""The id (`tsa_` + 8 characters) of the admin key the gateway checked."""
ADMIN_SCOPES_HEADER = "x-admin-scopes"
"""That key's scopes, separated by spaces."""
