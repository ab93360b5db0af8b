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
