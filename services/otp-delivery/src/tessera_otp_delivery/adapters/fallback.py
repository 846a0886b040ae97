"""Tries a channel's providers in order; the first that succeeds wins."""

import logging
from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from tessera_otp_delivery.ports import SendError

log = logging.getLogger("tessera.delivery")
M = TypeVar("M", contravariant=True)


class _Sender(Protocol[M]):
    name: str

    async def send(self, message: M, /) -> None: ...


class Fallback(Generic[M]):
    def __init__(self, providers: Sequence[_Sender[M]]) -> None:
        self.providers = list(providers)
        self.name = "+".join(p.name for p in self.providers)

    async def send(self, message: M) -> None:
        reasons = []
        for provider in self.providers:
            try:
                await provider.send(message)
                return
            except SendError as exc:
                log.warning("provider %s failed: %s", provider.name, exc)
                reasons.append(str(exc))
        raise SendError("; ".join(reasons))
