"""Delivery counters for Prometheus (`GET /metrics` on the worker)."""

from prometheus_client import CollectorRegistry, Counter


class DeliveryMetrics:
    """One worker's counters, in a registry of their own that its `/metrics` exposes after
    the process-wide one (request metrics, process and Python runtime)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ["channel"]
        self.sent = Counter(
            "tessera_otp_sent", "Messages delivered", labels, registry=self.registry
        )
        self.failed = Counter(
            "tessera_otp_failed", "Delivery attempts that failed", labels, registry=self.registry
        )
        self.retried = Counter(
            "tessera_otp_retried",
            "Events put back for a later retry",
            labels,
            registry=self.registry,
        )
        self.dead = Counter(
            "tessera_otp_dead_lettered", "Events given up on", ["reason"], registry=self.registry
        )
        self.duplicates = Counter(
            "tessera_otp_duplicates",
            "Redelivered events that were already sent",
            registry=self.registry,
        )
