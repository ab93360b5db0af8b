"""The stats views: JSON, the dashboard and Prometheus text, behind the access check."""

from __future__ import annotations

import typing as t

from flask import Blueprint, current_app, render_template
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from .summary import summarise

if t.TYPE_CHECKING:
    from .extension import _StatsState

blueprint = Blueprint(
    "flask_plug_stats",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def _state() -> _StatsState:
    from .extension import EXTENSION_KEY

    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]


@blueprint.before_request
def check_access() -> None:
    _state().check_access()


@blueprint.get("")
def summary() -> dict[str, t.Any]:
    """Per endpoint: count, errors, error rate, mean and p50/p95/p99 seconds, statuses,
    custom collector totals."""
    state = _state()
    return summarise(state.metrics.read_registry(), state.prefix)


@blueprint.get("/dashboard")
def dashboard() -> str:
    """Charts of request rate, latency percentiles and status codes; refreshes itself."""
    return render_template("stats/dashboard.html")


@blueprint.get("/metrics")
def metrics() -> tuple[bytes, int, dict[str, str]]:
    """Prometheus text exposition."""
    registry = _state().metrics.read_registry()
    return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
