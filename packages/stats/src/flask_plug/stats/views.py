"""The stats views: JSON, the dashboard and Prometheus text, behind the access check."""

from __future__ import annotations

import typing as t

from flask import Blueprint, current_app, render_template, request

from ._state import get_state
from .summary import summarise

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.sansio.blueprints import BlueprintSetupState

blueprint = Blueprint(
    "flask_plug_stats",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@blueprint.before_request
def check_access() -> None:
    get_state(current_app).check_access(request.endpoint)


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


def metrics() -> tuple[bytes, int, dict[str, str]]:
    """Prometheus text exposition, or OpenMetrics if the scraper prefers it."""
    body, content_type = get_state(current_app).exposition.generate(request.headers.get("Accept"))
    return body, 200, {"Content-Type": content_type}


@blueprint.record
def add_metrics_rule(setup: BlueprintSetupState) -> None:
    """The metrics view at ``STATS_METRICS_PATH``, which may be outside the blueprint's
    prefix (``/metrics``); its endpoint is the blueprint's all the same, so the access
    check above and ``url_for("flask_plug_stats.metrics")`` apply."""
    path = get_state(t.cast("Flask", setup.app)).settings.metrics_path
    if path is not None:
        setup.app.add_url_rule(path, f"{setup.name}.metrics", metrics, methods=["GET"])
