"""Per-endpoint metrics for Flask: JSON, a dashboard and Prometheus, with custom collectors."""

from __future__ import annotations

from .extension import Stats, loopback_only
from .metrics import DEFAULT_BUCKETS
from .settings import StatsOptions
from .summary import quantile

__version__ = "0.1.0"

__all__ = ["DEFAULT_BUCKETS", "Stats", "StatsOptions", "loopback_only", "quantile"]
