"""Per-endpoint figures for the JSON view and the dashboard, read from the registry."""

from __future__ import annotations

import math
import typing as t
from collections import defaultdict

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from prometheus_client.metrics_core import Metric


def quantile(q: float, buckets: list[tuple[float, float]]) -> float | None:
    """Estimate a quantile from cumulative ``(upper bound, count)`` histogram buckets,
    interpolating linearly inside the bucket, as Prometheus's ``histogram_quantile``."""
    if not buckets or buckets[-1][1] == 0:
        return None
    rank = q * buckets[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for upper_bound, count in buckets:
        if count >= rank:
            if math.isinf(upper_bound):
                # Beyond the last finite bucket: its bound is all we know, if there is one.
                return lower_bound if lower_bound > 0 else None
            share = (rank - lower_count) / (count - lower_count) if count > lower_count else 1.0
            return lower_bound + (upper_bound - lower_bound) * share
        lower_bound, lower_count = upper_bound, count
    return None


def summarise(families: Iterable[Metric], prefix: str) -> dict[str, t.Any]:
    """``{"endpoints": {name: {count, errors, error_rate, mean, p50, p95, p99, statuses,
    collectors}}, "in_flight": n}`` from a registry's metric ``families``.

    Every key comes from a label value, so this stays as small as the registry: endpoints
    are URL rules (one ``<unmatched>`` for the rest), statuses are 100-599 or ``other``."""
    endpoints: dict[str, dict[str, t.Any]] = defaultdict(
        lambda: {"count": 0, "errors": 0, "statuses": {}, "collectors": {}, "seconds": 0.0}
    )
    buckets: dict[str, dict[float, float]] = defaultdict(lambda: defaultdict(float))
    in_flight = 0.0
    for family in families:
        for sample in family.samples:
            labels = sample.labels
            name = sample.name
            if name == f"{prefix}_requests_total":
                entry = endpoints[labels["endpoint"]]
                entry["count"] += sample.value
                status = labels["status"]
                entry["statuses"][status] = entry["statuses"].get(status, 0) + sample.value
                if status.startswith("5"):
                    entry["errors"] += sample.value
            elif name == f"{prefix}_request_duration_seconds_bucket":
                buckets[labels["endpoint"]][float(labels["le"])] += sample.value
            elif name == f"{prefix}_request_duration_seconds_sum":
                endpoints[labels["endpoint"]]["seconds"] += sample.value
            elif (
                name.startswith(f"{prefix}_collected")
                and name.endswith("_total")
                and "collector" in labels
            ):
                # <prefix>_collected_total, and <prefix>_collected_<name>_total of each
                # collector with labels: its labels added up.
                entry = endpoints[labels["endpoint"]]
                collector = labels["collector"]
                entry["collectors"][collector] = (
                    entry["collectors"].get(collector, 0) + sample.value
                )
            elif name == f"{prefix}_requests_in_flight":
                in_flight += sample.value
    result = {}
    for endpoint, entry in sorted(endpoints.items()):
        count = entry["count"]
        cumulative = sorted(buckets[endpoint].items())
        result[endpoint] = {
            "count": int(count),
            "errors": int(entry["errors"]),
            "error_rate": entry["errors"] / count if count else 0.0,
            "mean": entry["seconds"] / count if count else None,
            "p50": quantile(0.5, cumulative),
            "p95": quantile(0.95, cumulative),
            "p99": quantile(0.99, cumulative),
            "statuses": {k: int(v) for k, v in sorted(entry["statuses"].items())},
            "collectors": entry["collectors"],
        }
    return {"endpoints": result, "in_flight": int(in_flight)}
