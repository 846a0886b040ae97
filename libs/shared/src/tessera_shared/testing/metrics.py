"""Reading a part's `GET /metrics` in tests, with prometheus_client's own text parser."""

from prometheus_client.parser import text_string_to_metric_families


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of the sample `name` with exactly `labels`; 0 while the series has none yet.

    The registry is process-wide and outlives each test's app: compare before and after.
    """
    for family in text_string_to_metric_families(exposition):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0


def series(exposition: str, name: str) -> list[dict[str, str]]:
    """The label sets of every sample called `name`."""
    return [
        found.labels
        for family in text_string_to_metric_families(exposition)
        for found in family.samples
        if found.name == name
    ]
