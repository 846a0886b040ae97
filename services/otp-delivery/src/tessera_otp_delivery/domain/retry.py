"""Retry with exponential backoff, then the dead-letter subject. Pure."""

import enum

import msgspec


class Outcome(enum.StrEnum):
    RETRY = "retry"
    DEAD = "dead"


class RetryPolicy(msgspec.Struct, frozen=True, kw_only=True):
    max_attempts: int = 8
    base_s: float = 2.0
    max_s: float = 300.0

    def delay(self, attempt: int) -> float:
        """Wait before attempt `attempt + 1`: base, 2·base, 4·base, … capped."""
        return float(min(self.base_s * 2 ** max(attempt - 1, 0), self.max_s))

    def after_failure(self, attempt: int) -> Outcome:
        """`attempt` counts from 1 (JetStream's num_delivered)."""
        return Outcome.DEAD if attempt >= self.max_attempts else Outcome.RETRY
