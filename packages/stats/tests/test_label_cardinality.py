"""Label values computed from what a client sends (its path, a header) cannot grow a
custom metric or a labelled collector past ``max_label_sets`` series, nor break the
exposition, whatever the client sends."""

from __future__ import annotations

import random
import string
import typing as t

import pytest
from flask import Flask, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

LIMIT = 5


def make_app() -> Flask:
    stats = Stats(max_label_sets=LIMIT)
    app = Flask(__name__)
    stats.init_app(app)
    stats.register_collector(
        "agents",
        lambda request, response, elapsed: {request.headers.get("X-Client", ""): 1},
        labels=("client",),
    )

    @app.route("/<path:anything>", methods=["GET", "POST"])
    @stats.counter(
        "paths",
        "Requests by path and header.",
        labels={
            "path": lambda: request.path,
            "client": lambda: request.headers.get("X-Client", ""),
            "status": lambda response: response.status_code,
        },
    )
    @stats.histogram("path_seconds", "Seconds by path.", labels={"path": lambda: request.path})
    @stats.gauge(
        "paths_running", "Running.", labels={"client": lambda: request.headers.get("X-Client")}
    )
    def anything(anything: str) -> str:
        return "ok"

    return app


def series(client: FlaskClient) -> dict[str, set[tuple[tuple[str, str], ...]]]:
    """Each sample name's label sets, read as Prometheus parses them."""
    response = client.get("/admin/stats/metrics")
    assert response.status_code == 200
    found: dict[str, set[tuple[tuple[str, str], ...]]] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
            found.setdefault(sample.name, set()).add(labels)
    return found


def assert_bounded(client: FlaskClient) -> None:
    found = series(client)
    for name in ("paths_total", "path_seconds_count", "flask_http_collected_agents_total"):
        assert len(found.get(name, ())) <= LIMIT + 1, (name, found.get(name))
    assert len(found.get("paths_running", ())) <= LIMIT + 1


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=300)
PATH_TEXT = st.text(
    st.characters(exclude_categories=["Cs", "Cc"], exclude_characters="?#%/"),
    min_size=1,
    max_size=300,
)


@pytest.fixture(scope="module")
def shared_client() -> FlaskClient:
    """One app for every example: the series of all of them must stay bounded."""
    return make_app().test_client()


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=PATH_TEXT, header=HEADER_TEXT, method=st.sampled_from(["GET", "POST"]))
def test_client_chosen_label_values_never_answer_500_nor_grow_the_series(
    shared_client: FlaskClient, path: str, header: str, method: str
) -> None:
    response = shared_client.open("/" + path, method=method, headers={"X-Client": header})
    assert response.status_code == 200
    assert_bounded(shared_client)


def test_thousands_of_distinct_values_keep_one_overflow_series() -> None:
    client = make_app().test_client()
    rng = random.Random(19)
    for _ in range(2000):
        name = "".join(rng.choices(string.ascii_letters, k=12))
        assert client.get(f"/{name}", headers={"X-Client": name}).status_code == 200
    found = series(client)
    assert len(found["paths_total"]) == LIMIT + 1
    assert (("client", "other"), ("path", "other"), ("status", "other")) in found["paths_total"]
    assert len(found["flask_http_collected_agents_total"]) == LIMIT + 1
