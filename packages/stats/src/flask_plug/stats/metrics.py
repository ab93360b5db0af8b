"""The metrics of one app, in its own prometheus_client registry."""

from __future__ import annotations

import os
import typing as t

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

DEFAULT_BUCKETS = (
    0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075,
    0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip
"""Latency buckets in seconds: fine below 100 ms, where percentiles matter most."""

UNMATCHED = "<unmatched>"
"""The one endpoint label shared by every request that matched no route."""

OTHER = "other"
"""The one label value for every method no route declares and every status outside
100-599: a client picks its method, so it must not pick label values."""

STANDARD_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)
"""The methods of RFC 9110 and PATCH (RFC 5789): labelled as they are, routes or not."""

STATUS_LABELS = frozenset(str(code) for code in range(100, 600))
"""Status codes labelled as they are; the range RFC 9110 defines."""


class AppMetrics:
    """The request metrics of one app.

    In multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set) every worker writes its own
    files and :meth:`read_registry` merges them, for the JSON, dashboard and Prometheus
    views alike.
    """

    def __init__(self, prefix: str, buckets: t.Sequence[float]) -> None:
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("endpoint", "method")
        self.requests = Counter(
            f"{prefix}_requests", "Requests answered.", (*labels, "status"),
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            f"{prefix}_request_duration_seconds", "Time to the response's headers.", labels,
            buckets=buckets, registry=self.registry,
        )  # fmt: skip
        self.exceptions = Counter(
            f"{prefix}_exceptions", "Unhandled exceptions in views.", (*labels, "exception"),
            registry=self.registry,
        )  # fmt: skip
        self.in_flight = Gauge(
            f"{prefix}_requests_in_flight", "Requests being handled now.",
            registry=self.registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self.collected = Counter(
            f"{prefix}_collected", "Totals of custom collectors.", ("collector", "endpoint"),
            registry=self.registry,
        )  # fmt: skip

    def read_registry(self) -> CollectorRegistry:
        """The registry to read: this process's, or every worker's merged."""
        if not self.multiprocess:
            return self.registry
        merged = CollectorRegistry()
        MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
