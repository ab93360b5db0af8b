from __future__ import annotations

import random
import string
import typing as t

from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def test_requests_are_grouped_by_url_rule_not_path(client: FlaskClient, summary: t.Any) -> None:
    for user_id in range(25):
        client.get(f"/users/{user_id}")
    endpoints = summary(client)
    assert endpoints["user"]["count"] == 25
    assert endpoints["user"]["statuses"] == {"200": 25}


def test_unmatched_paths_share_one_series(client: FlaskClient) -> None:
    rng = random.Random(0)
    for _ in range(1000):
        client.get("/" + "".join(rng.choices(string.ascii_letters + "/", k=12)))
    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    series = [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "flask_http_requests_total"
    ]
    assert len(series) == 1
    assert series[0].labels["endpoint"] == "<unmatched>" and series[0].value == 1000


def test_errors_and_exceptions_are_counted(client: FlaskClient, summary: t.Any) -> None:
    client.get("/boom")
    client.get("/users/1")
    boom = summary(client)["boom"]
    assert (boom["count"], boom["errors"], boom["error_rate"]) == (1, 1, 1.0)
    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    labels = 'endpoint="boom",exception="ZeroDivisionError",method="GET"'
    assert f"flask_http_exceptions_total{{{labels}}} 1.0" in text


def test_stats_views_and_static_are_not_counted(client: FlaskClient, summary: t.Any) -> None:
    client.get("/admin/stats/dashboard")
    client.get("/admin/stats/metrics")
    assert "flask_plug_stats.summary" not in summary(client)
    assert all(not name.startswith("flask_plug_stats") for name in summary(client))


def test_excluded_views_are_not_counted(stats: Stats, app: Flask, summary: t.Any) -> None:
    app.add_url_rule("/health", "health", stats.exclude(lambda: "ok"))
    client = app.test_client()
    client.get("/health")
    assert "health" not in summary(client)


def test_exposition_parses_with_prometheus_clients_parser(client: FlaskClient) -> None:
    client.get("/users/1")
    response = client.get("/admin/stats/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    names = {
        family.name for family in text_string_to_metric_families(response.get_data(as_text=True))
    }
    assert {"flask_http_requests", "flask_http_request_duration_seconds"} <= names


def test_stats_are_closed_to_other_clients(client: FlaskClient) -> None:
    assert (
        client.get("/admin/stats", environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 403
    )
    assert client.get("/admin/stats", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_access_check_replaces_the_default(stats: Stats, app: Flask) -> None:
    from flask import request

    @stats.access_check
    def token_holder() -> bool:
        return request.headers.get("X-Stats-Token") == "let-me-in"

    client = app.test_client()
    assert client.get("/admin/stats").status_code == 403
    assert client.get("/admin/stats", headers={"X-Stats-Token": "let-me-in"}).status_code == 200


def test_apps_do_not_mix(summary: t.Any) -> None:
    stats = Stats()
    first, second = Flask("first"), Flask("second")
    for app in (first, second):
        stats.init_app(app)
        app.add_url_rule("/", "index", lambda: "ok")
    first.test_client().get("/")
    assert summary(first.test_client())["index"]["count"] == 1
    assert "index" not in summary(second.test_client())


def test_bad_config_fails_at_init_app_naming_the_key() -> None:
    import math

    import pytest

    for key, value in [
        ("STATS_BUCKETS", [math.inf]),
        ("STATS_BUCKETS", [0.5, 0.1]),
        ("STATS_URL_PREFIX", "admin/stats"),
        ("STATS_EXCLUDE_STATIC", "yes"),
        ("STATS_METRIC_PREFIX", "flask-http"),
    ]:
        app = Flask(__name__)
        app.config[key] = value
        with pytest.raises(ValueError, match=key):
            Stats(app)


def test_access_from_config() -> None:
    app = Flask(__name__)
    app.config["STATS_ACCESS"] = lambda: False
    Stats(app)
    assert app.test_client().get("/admin/stats").status_code == 403
