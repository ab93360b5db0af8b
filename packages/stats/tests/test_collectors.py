from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def test_collector_values_add_up_per_endpoint(
    stats: Stats, client: FlaskClient, summary: t.Any
) -> None:
    stats.register_collector("bytes", lambda request, response, elapsed: response.content_length)

    @stats.collector("slow")
    def slow(request: t.Any, response: t.Any, elapsed: float) -> int:
        return 1 if elapsed > 10 else 0

    for user_id in (1, 22, 333):
        client.get(f"/users/{user_id}")
    collectors = summary(client)["user"]["collectors"]
    assert collectors == {"bytes": len("user 1") + len("user 22") + len("user 333"), "slow": 0}


def test_a_raising_collector_is_logged_once_and_skipped(
    stats: Stats, client: FlaskClient, summary: t.Any, caplog: pytest.LogCaptureFixture, app: Flask
) -> None:
    def broken(request: t.Any, response: t.Any, elapsed: float) -> int:
        raise RuntimeError("collector bug")

    stats.register_collector("broken", broken)
    stats.register_collector("count", lambda request, response, elapsed: 1)
    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        codes = [client.get("/users/1").status_code for _ in range(5)]
    assert codes == [200] * 5
    assert summary(client)["user"]["collectors"] == {"count": 5}
    assert len([r for r in caplog.records if "'broken' failed" in r.getMessage()]) == 1


@pytest.mark.parametrize("value", ["3", -1, float("nan"), True])
def test_a_collector_returning_a_non_count_is_skipped(
    stats: Stats, client: FlaskClient, summary: t.Any, value: t.Any
) -> None:
    stats.register_collector("odd", lambda request, response, elapsed: value)
    assert client.get("/users/1").status_code == 200
    assert summary(client)["user"]["collectors"] == {}


def test_a_collector_with_labels_adds_up_per_endpoint_and_label_values(
    stats: Stats, client: FlaskClient, summary: t.Any
) -> None:
    @stats.collector("response_bytes", labels=("content_type",))
    def response_bytes(request: t.Any, response: t.Any, elapsed: float) -> dict[str, int]:
        return {response.mimetype: response.content_length or 0}

    stats.register_collector(
        "outcome",
        lambda request, response, elapsed: {(request.method, str(response.status_code)): 1},
        labels=("method", "code"),
    )
    stats.register_collector("plain", lambda request, response, elapsed: 1)
    for user_id in (1, 22):
        client.get(f"/users/{user_id}")
    client.get("/boom")

    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("flask_http_collected")
    }
    assert samples == {
        (
            "flask_http_collected_response_bytes_total",
            (("collector", "response_bytes"), ("content_type", "text/html"), ("endpoint", "user")),
        ): len("user 1user 22"),
        (
            "flask_http_collected_response_bytes_total",
            (("collector", "response_bytes"), ("content_type", "text/html"), ("endpoint", "boom")),
        ): len(client.get("/boom").get_data()),
        (
            "flask_http_collected_outcome_total",
            (("code", "200"), ("collector", "outcome"), ("endpoint", "user"), ("method", "GET")),
        ): 2,
        (
            "flask_http_collected_outcome_total",
            (("code", "500"), ("collector", "outcome"), ("endpoint", "boom"), ("method", "GET")),
        ): 1,
        (
            "flask_http_collected_total",
            (("collector", "plain"), ("endpoint", "user")),
        ): 2,
        (
            "flask_http_collected_total",
            (("collector", "plain"), ("endpoint", "boom")),
        ): 1,
    }
    # The JSON view adds each collector's label values up.
    assert summary(client)["user"]["collectors"] == {
        "outcome": 2,
        "plain": 2,
        "response_bytes": len("user 1user 22"),
    }


def test_a_collector_with_labels_counts_new_values_past_the_limit_as_other() -> None:
    stats = Stats(max_label_sets=2)
    app = Flask(__name__)
    stats.init_app(app)
    stats.register_collector(
        "agents",
        lambda request, response, elapsed: {request.headers.get("User-Agent", ""): 1},
        labels=("agent",),
    )

    @app.get("/")
    def index() -> str:
        return "ok"

    client = app.test_client()
    for agent in ("a", "b", "c", "d", "a"):
        client.get("/", headers={"User-Agent": agent})
    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    counted = {
        sample.labels["agent"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "flask_http_collected_agents_total"
    }
    assert counted == {"a": 2, "b": 1, "other": 2}


@pytest.mark.parametrize(
    "value", [3, {"a": "3"}, {"a": -1}, {("a", "b"): 1}, {"a": float("nan")}, {"a": True}]
)
def test_a_collector_with_labels_returning_something_else_is_skipped(
    stats: Stats, client: FlaskClient, summary: t.Any, value: t.Any
) -> None:
    stats.register_collector("odd", lambda request, response, elapsed: value, labels=("x",))
    assert client.get("/users/1").status_code == 200
    assert summary(client)["user"]["collectors"] == {}


@pytest.mark.parametrize(
    ("name", "labels", "message"),
    [
        ("bad name", ("x",), "needs a name of ASCII letters"),
        ("ok", ("bad-label",), "label 'bad-label'"),
        ("ok", ("endpoint",), "given twice"),
        ("ok", ("x", "x"), "given twice"),
    ],
)
def test_a_collector_with_bad_labels_is_refused(
    stats: Stats, name: str, labels: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        stats.register_collector(name, lambda request, response, elapsed: None, labels=labels)


def test_a_collector_keeps_its_labels(stats: Stats) -> None:
    stats.register_collector("kept", lambda request, response, elapsed: None, labels=("a",))
    stats.register_collector("kept", lambda request, response, elapsed: {"x": 1}, labels=("a",))
    with pytest.raises(ValueError, match="registered with other labels"):
        stats.register_collector("kept", lambda request, response, elapsed: 1)
