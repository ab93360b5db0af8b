"""The stats views: JSON, the dashboard and Prometheus text, behind the access check."""

from __future__ import annotations

import typing as t

from flask import Blueprint, current_app, render_template
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ._state import get_state
from .summary import summarise

blueprint = Blueprint(
    "flask_plug_stats",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@blueprint.before_request
def check_access() -> None:
    get_state(current_app).check_access()


@blueprint.get("")
def summary() -> dict[str, t.Any]:
    """Per endpoint: count, errors, error rate, mean and p50/p95/p99 seconds, statuses,
    custom collector totals; and the history, one point per interval."""
    state = get_state(current_app)
    families = list(state.metrics.read_registry().collect())
    result = summarise(families, state.prefix)
    result["history"] = state.history.report(families)
    return result


@blueprint.get("/dashboard")
def dashboard() -> str:
    """Charts of request rate, latency percentiles and status codes; refreshes itself."""
    return render_template("stats/dashboard.html")


@blueprint.get("/metrics")
def metrics() -> tuple[bytes, int, dict[str, str]]:
    """Prometheus text exposition."""
    registry = get_state(current_app).metrics.read_registry()
    return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
