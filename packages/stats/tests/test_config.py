"""Configuration errors fail at init_app and name their key."""

from __future__ import annotations

import pytest
from flask import Flask

from flask_plug.stats import Stats


@pytest.mark.parametrize(
    "prefix", ["1abc", "é", "flask-http", "", "a b", "ns.metric", "ｆｌａｓｋ", "flask\n", 42]
)
def test_metric_prefix_that_is_no_prometheus_name_fails_at_init_app(prefix: object) -> None:
    app = Flask(__name__)
    app.config["STATS_METRIC_PREFIX"] = prefix
    with pytest.raises(ValueError, match="STATS_METRIC_PREFIX") as error:
        Stats(app)
    assert repr(prefix) in str(error.value)


@pytest.mark.parametrize("prefix", ["flask_http", "_private", "ns:sub", "App9", ":colon"])
def test_metric_prefix_that_is_a_prometheus_name_is_exported_as_given(prefix: str) -> None:
    app = Flask(__name__)
    app.config["STATS_METRIC_PREFIX"] = prefix
    Stats(app)

    @app.get("/")
    def index() -> str:
        return "ok"

    client = app.test_client()
    client.get("/")
    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    assert f"\n{prefix}_requests_total{{" in text


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"STATS_JSON_ACCESS": "admins"}, "STATS_JSON_ACCESS"),
        ({"STATS_DASHBOARD_ACCESS": True}, "STATS_DASHBOARD_ACCESS"),
        ({"STATS_METRICS_ACCESS": 1}, "STATS_METRICS_ACCESS"),
        ({"STATS_METRICS_USERNAME": "prometheus"}, "STATS_METRICS_PASSWORD"),
        ({"STATS_METRICS_PASSWORD": "pw"}, "STATS_METRICS_USERNAME"),
        ({"STATS_METRICS_USERNAME": "a:b", "STATS_METRICS_PASSWORD": "pw"}, "USERNAME"),
        ({"STATS_METRICS_USERNAME": "", "STATS_METRICS_PASSWORD": "pw"}, "USERNAME"),
        ({"STATS_METRICS_USERNAME": "p", "STATS_METRICS_PASSWORD": ""}, "PASSWORD"),
        ({"STATS_METRICS_USERNAME": "p", "STATS_METRICS_PASSWORD": "a\nb"}, "PASSWORD"),
        ({"STATS_METRICS_USERNAME": "p", "STATS_METRICS_PASSWORD": b"pw"}, "PASSWORD"),
        ({"STATS_METRICS_BEARER_TOKEN": ""}, "STATS_METRICS_BEARER_TOKEN"),
        ({"STATS_METRICS_BEARER_TOKEN": "two words"}, "STATS_METRICS_BEARER_TOKEN"),
        ({"STATS_METRICS_BEARER_TOKEN": "tökén"}, "STATS_METRICS_BEARER_TOKEN"),
        ({"STATS_METRICS_BEARER_TOKEN": "a=b"}, "STATS_METRICS_BEARER_TOKEN"),
        ({"STATS_DEFAULT_LABELS": [("service", "shop")]}, "STATS_DEFAULT_LABELS"),
        ({"STATS_DEFAULT_LABELS": {"bad-name": "x"}}, "STATS_DEFAULT_LABELS"),
        ({"STATS_DEFAULT_LABELS": {"__name__": "x"}}, "STATS_DEFAULT_LABELS"),
        ({"STATS_DEFAULT_LABELS": {"endpoint": "x"}}, "STATS_DEFAULT_LABELS"),
        ({"STATS_DEFAULT_LABELS": {"le": "x"}}, "STATS_DEFAULT_LABELS"),
        ({"STATS_DEFAULT_LABELS": {"service": 1}}, "STATS_DEFAULT_LABELS"),
        ({"STATS_MAX_LABEL_SETS": 0}, "STATS_MAX_LABEL_SETS"),
        ({"STATS_MAX_LABEL_SETS": "100"}, "STATS_MAX_LABEL_SETS"),
        ({"STATS_MAX_LABEL_SETS": True}, "STATS_MAX_LABEL_SETS"),
        ({"STATS_MAX_LABEL_SETS": 10_001}, "STATS_MAX_LABEL_SETS"),
        ({"STATS_PROCESS_METRICS": "no"}, "STATS_PROCESS_METRICS"),
        ({"STATS_CREATED_METRICS": 1}, "STATS_CREATED_METRICS"),
    ],
)
def test_a_bad_exporter_option_fails_at_init_app_naming_its_key(
    config: dict[str, object], key: str
) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ValueError, match=key):
        Stats(app)


def test_a_password_is_not_repeated_in_the_error() -> None:
    app = Flask(__name__)
    app.config.update(STATS_METRICS_USERNAME="p", STATS_METRICS_PASSWORD="hunter2\n")
    with pytest.raises(ValueError, match="STATS_METRICS_PASSWORD") as error:
        Stats(app)
    assert "hunter2" not in str(error.value)


def test_no_secret_is_set_by_default() -> None:
    app = Flask(__name__)
    Stats(app)
    assert app.test_client().get("/admin/stats/metrics").status_code == 200
    refused = app.test_client().get(
        "/admin/stats/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}
    )
    assert refused.status_code == 403 and "WWW-Authenticate" not in refused.headers
