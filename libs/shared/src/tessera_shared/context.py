"""Per-request values that logs and outgoing calls need (request id), kept in contextvars."""

from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("tessera_request_id", default=None)
