"""Per-endpoint metrics for Flask: JSON, a dashboard and Prometheus, with custom collectors."""

from __future__ import annotations

from .exposition import generate_metrics
from .extension import Stats, loopback_only
from .metrics import DEFAULT_BUCKETS
from .server import MetricsServer, start_metrics_server
from .settings import StatsOptions
from .summary import quantile

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BUCKETS",
    "MetricsServer",
    "Stats",
    "StatsOptions",
    "generate_metrics",
    "loopback_only",
    "quantile",
    "start_metrics_server",
]
