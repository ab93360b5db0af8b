"""What ``/metrics`` exports beyond the request metrics, and where it is: info metrics,
default labels, process/platform/GC metrics, no ``*_created`` series unless asked for,
OpenMetrics for scrapers that prefer it, and ``STATS_METRICS_PATH``."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, url_for
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats, generate_metrics

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

PROCESS_FAMILIES = {"process_cpu_seconds", "process_resident_memory_bytes", "process_open_fds"}
GC_FAMILIES = {"python_gc_objects_collected", "python_gc_collections"}


def make_app(stats: Stats | None = None, **config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update({f"STATS_{key.upper()}": value for key, value in config.items()})
    (stats or Stats()).init_app(app)

    @app.get("/")
    def index() -> str:
        return "ok"

    return app


def families(client: FlaskClient, path: str = "/admin/stats/metrics") -> dict[str, t.Any]:
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data(as_text=True)
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_info_is_one_series_of_value_one() -> None:
    stats = Stats()
    stats.info("app_info", "The app.", version="1.2", build=7)
    client = make_app(stats).test_client()
    [sample] = families(client)["app_info"].samples
    assert (sample.labels, sample.value) == ({"version": "1.2", "build": "7"}, 1)


def test_info_declared_after_init_app_is_exported_too() -> None:
    stats = Stats()
    client = make_app(stats).test_client()
    stats.info("late_info", "Declared late.", stage="late")
    assert families(client)["late_info"].samples[0].labels == {"stage": "late"}


def test_default_labels_are_on_every_series_and_a_metrics_own_label_wins() -> None:
    stats = Stats()
    stats.info("app_info", "The app.", region="own")
    app = make_app(stats, default_labels={"region": "eu", "service": "shop"})
    client = app.test_client()
    client.get("/")
    exported = families(client)
    everything = [sample for family in exported.values() for sample in family.samples]
    assert everything
    assert all(sample.labels["service"] == "shop" for sample in everything)
    assert exported["app_info"].samples[0].labels["region"] == "own"
    assert {s.labels["region"] for s in exported["flask_http_requests"].samples} == {"eu"}
    # The JSON view is read from the registry itself: no default labels there.
    assert client.get("/admin/stats").json["endpoints"]["index"]["count"] == 1


def test_process_platform_and_gc_metrics_are_exported_by_default() -> None:
    names = set(families(make_app().test_client()))
    assert PROCESS_FAMILIES | GC_FAMILIES | {"python_info"} <= names


def test_process_metrics_can_be_turned_off() -> None:
    names = set(families(make_app(process_metrics=False).test_client()))
    assert not names & (PROCESS_FAMILIES | GC_FAMILIES | {"python_info"})
    assert "flask_http_requests" in names


def test_process_metrics_are_not_in_the_json_view() -> None:
    client = make_app().test_client()
    client.get("/")
    assert set(client.get("/admin/stats").json["endpoints"]) == {"index"}


def test_created_series_are_left_out_unless_asked_for() -> None:
    stats = Stats()
    stats.counter("orders", "Orders.")
    stats.histogram("order_seconds", "Orders.")
    stats.summary("order_summary", "Orders.")
    for created, client in (
        (False, make_app(stats).test_client()),
        (True, make_app(stats, created_metrics=True).test_client()),
    ):
        client.get("/")
        text = client.get("/admin/stats/metrics").get_data(as_text=True)
        for name in ("flask_http_requests", "orders", "order_seconds", "order_summary"):
            assert (f"\n{name}_created" in text) is created, (name, created)


def test_leaving_created_series_out_changes_no_other_registry() -> None:
    """``prometheus_client.disable_created_metrics()`` would: it is process-wide."""
    make_app().test_client().get("/admin/stats/metrics")
    registry = CollectorRegistry()
    Counter("elsewhere", "Another library's counter.", registry=registry)
    assert b"elsewhere_created" in generate_latest(registry)


def test_openmetrics_for_a_scraper_that_prefers_it() -> None:
    stats = Stats()
    stats.info("app_info", "The app.", version="1.2")
    client = make_app(stats, default_labels={"service": "shop"}).test_client()
    client.get("/")
    response = client.get(
        "/admin/stats/metrics",
        headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"},
    )
    assert response.content_type.startswith("application/openmetrics-text; version=1.0.0")
    text = response.get_data(as_text=True)
    assert text.endswith("# EOF\n")
    exported = {family.name: family for family in openmetrics_families(text)}
    [requests] = exported["flask_http_requests"].samples
    assert requests.labels["service"] == "shop" and requests.value == 1
    assert not any(name.endswith("_created") for name in exported)


def test_prometheus_text_is_the_default_format() -> None:
    response = make_app().test_client().get("/admin/stats/metrics")
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"


def test_metrics_path_serves_the_metrics_outside_the_prefix() -> None:
    app = make_app(metrics_path="/metrics")
    client = app.test_client()
    client.get("/")
    assert "flask_http_requests" in families(client, "/metrics")
    # Still a stats view: not counted, and behind the access rule.
    assert set(client.get("/admin/stats").json["endpoints"]) == {"index"}
    assert client.get("/admin/stats/metrics").status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    with app.test_request_context():
        assert url_for("flask_plug_stats.metrics") == "/metrics"


def test_metrics_path_false_serves_no_metrics_in_the_app() -> None:
    app = make_app(metrics_path=False)
    client = app.test_client()
    assert client.get("/admin/stats/metrics").status_code == 404
    assert client.get("/admin/stats").status_code == 200
    body, content_type = generate_metrics(app)
    assert b"flask_http_requests_in_flight" in body
    assert content_type.startswith("text/plain")


def test_generate_metrics_takes_the_current_app_and_an_accept_header() -> None:
    app = make_app()
    with app.app_context():
        body, content_type = generate_metrics(accept="application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    assert content_type.startswith("application/openmetrics-text")


@pytest.mark.parametrize(
    ("path", "ok"),
    [
        ("/metrics", True),
        ("/internal/metrics", True),
        ("/admin/stats/metrics", True),
        ("metrics", False),
        ("/metrics/", False),
        ("/admin/stats", False),
        ("/admin/stats/dashboard", False),
        ("/me trics", False),
        ("/metrics?x", False),
        (True, False),
        (42, False),
    ],
)
def test_metrics_path_is_checked_at_init_app(path: object, ok: bool) -> None:
    if ok:
        make_app(metrics_path=path)
        return
    with pytest.raises(ValueError, match="STATS_METRICS_PATH") as error:
        make_app(metrics_path=path)
    assert repr(path) in str(error.value)
