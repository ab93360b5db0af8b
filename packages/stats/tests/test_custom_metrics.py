"""Custom metrics on views: ``stats.counter``, ``histogram``, ``summary`` and ``gauge``,
with labels fixed, computed in the request, or computed from the response."""

from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Flask, abort, request
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats, generate_metrics

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def scrape(client: FlaskClient) -> dict[str, t.Any]:
    """The families of ``/admin/stats/metrics`` by name, parsed as Prometheus does."""
    response = client.get("/admin/stats/metrics")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    return {family.name: family for family in text_string_to_metric_families(text)}


def values(client: FlaskClient, sample_name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """``{sorted label items: value}`` of every sample called ``sample_name``."""
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in scrape(client).values()
        for sample in family.samples
        if sample.name == sample_name
    }


def test_counter_labels_come_from_the_request_and_the_final_response(
    stats: Stats, app: Flask, client: FlaskClient
) -> None:
    @app.get("/items/<kind>")
    @stats.counter(
        "item_reads",
        "Item reads.",
        labels={
            "kind": lambda: request.view_args["kind"],  # type: ignore[index]
            "status": lambda response: response.status_code,
            "shop": "north",
        },
    )
    def items(kind: str) -> tuple[str, int]:
        if kind == "secret":
            abort(403)
        if kind == "bug":
            raise KeyError(kind)
        return kind, 201

    for kind in ("book", "book", "pen", "secret", "bug"):
        client.get(f"/items/{kind}")
    assert values(client, "item_reads_total") == {
        (("kind", "book"), ("shop", "north"), ("status", "201")): 2,
        (("kind", "pen"), ("shop", "north"), ("status", "201")): 1,
        (("kind", "secret"), ("shop", "north"), ("status", "403")): 1,
        (("kind", "bug"), ("shop", "north"), ("status", "500")): 1,
    }


def test_histogram_and_summary_time_the_view_and_one_metric_serves_several_views(
    stats: Stats, app: Flask, client: FlaskClient
) -> None:
    timed = stats.histogram(
        "view_seconds", "Views.", labels={"view": lambda: request.endpoint}, buckets=[0.5, 60]
    )
    summed = stats.summary("view_summary", "Views.")

    @app.get("/a")
    @timed
    @summed
    def a() -> str:
        return "a"

    @app.get("/b")
    @timed
    def b() -> str:
        return "b"

    for path in ("/a", "/a", "/b"):
        assert client.get(path).status_code == 200
    assert values(client, "view_seconds_count") == {(("view", "a"),): 2, (("view", "b"),): 1}
    assert values(client, "view_seconds_bucket")[(("le", "60.0"), ("view", "a"))] == 2
    assert values(client, "view_summary_count") == {(): 2}
    assert values(client, "view_summary_sum")[()] > 0


def test_histogram_buckets_default_to_the_apps(stats: Stats) -> None:
    other = Flask(__name__)
    other.config["STATS_BUCKETS"] = [0.1, 1.0]
    stats.init_app(other)
    stats.histogram("plain_seconds", "Plain.")
    buckets = {
        sample.labels["le"]
        for sample in scrape(other.test_client())["plain_seconds"].samples
        if sample.name == "plain_seconds_bucket"
    }
    assert buckets == {"0.1", "1.0", "+Inf"}


def test_gauge_counts_the_views_in_progress(stats: Stats, app: Flask, client: FlaskClient) -> None:
    @app.get("/slow")
    @stats.gauge("slow_in_progress", "Slow views running.", labels={"kind": "report"})
    def slow() -> bytes:
        # What a scrape sees while this view runs.
        return generate_metrics()[0]

    during = slow_gauge(client.get("/slow").get_data(as_text=True))
    after = slow_gauge(client.get("/admin/stats/metrics").get_data(as_text=True))
    assert (during, after) == (1, 0)


def slow_gauge(text: str) -> float:
    [sample] = [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "slow_in_progress"
    ]
    assert sample.labels == {"kind": "report"}
    return sample.value


def test_metrics_whose_labels_are_all_fixed_are_exported_from_the_start(
    stats: Stats, client: FlaskClient
) -> None:
    stats.counter("fixed_total", "Fixed.", labels={"tier": "gold"})
    stats.counter("bare", "No labels.")
    stats.counter("computed", "Computed.", labels={"path": lambda: request.path})
    assert values(client, "fixed_total") == {(("tier", "gold"),): 0}
    assert values(client, "bare_total") == {(): 0}
    assert values(client, "computed_total") == {}


def test_metrics_declared_before_and_after_init_app_count_in_every_app() -> None:
    stats = Stats()
    early = stats.counter("early", "Declared before init_app.")
    apps = [Flask(__name__), Flask(__name__)]
    for app in apps:
        stats.init_app(app)
    late = stats.counter("late", "Declared after init_app.")
    for number, app in enumerate(apps, start=1):

        @app.get("/")
        @early
        @late
        def index() -> str:
            return "ok"

        client = app.test_client()
        for _ in range(number):
            client.get("/")
    for number, app in enumerate(apps, start=1):
        client = app.test_client()
        assert values(client, "early_total") == {(): number}
        assert values(client, "late_total") == {(): number}


def test_a_view_of_an_app_without_these_stats_runs_uncounted(stats: Stats) -> None:
    bare = Flask(__name__)

    @bare.get("/")
    @stats.counter("elsewhere", "Counted in apps with stats only.")
    def index() -> str:
        return "ok"

    assert bare.test_client().get("/").get_data(as_text=True) == "ok"


def test_exclude_leaves_custom_metrics_counting(
    stats: Stats, app: Flask, client: FlaskClient
) -> None:
    @app.get("/health")
    @stats.exclude
    @stats.counter("health_checks", "Health checks.")
    def health() -> str:
        return "ok"

    client.get("/health")
    assert values(client, "health_checks_total") == {(): 1}
    assert "health" not in {
        sample.labels.get("endpoint") for sample in scrape(client)["flask_http_requests"].samples
    }


def test_a_failing_label_function_is_logged_once_and_the_view_answers(
    stats: Stats, app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> str:
        raise RuntimeError("label bug")

    @app.get("/fragile")
    @stats.counter("fragile", "Fragile.", labels={"x": broken})
    @stats.gauge("fragile_running", "Fragile.", labels={"x": broken})
    def fragile() -> str:
        return "fine"

    with caplog.at_level(logging.ERROR, logger=app.logger.name):
        answers = [client.get("/fragile").get_data(as_text=True) for _ in range(3)]
    assert answers == ["fine"] * 3
    logged = [r.getMessage() for r in caplog.records]
    assert sum("'fragile' failed" in message for message in logged) == 1
    assert sum("'fragile_running' failed" in message for message in logged) == 1
    assert values(client, "fragile_total") == {}


def test_label_sets_past_the_limit_are_counted_as_other(
    stats: Stats, app: Flask, client: FlaskClient
) -> None:
    @app.get("/echo/<path:rest>")
    @stats.counter(
        "echoes",
        "Echoes by path.",
        labels={"path": lambda: request.path, "site": "main"},
        max_label_sets=3,
    )
    def echo(rest: str) -> str:
        return rest

    for number in range(10):
        client.get(f"/echo/{number}")
    client.get("/echo/" + "x" * 300)
    counted = values(client, "echoes_total")
    assert counted == {
        (("path", "/echo/0"), ("site", "main")): 1,
        (("path", "/echo/1"), ("site", "main")): 1,
        (("path", "/echo/2"), ("site", "main")): 1,
        (("path", "other"), ("site", "main")): 8,
    }


def test_a_value_longer_than_200_characters_is_other(
    stats: Stats, app: Flask, client: FlaskClient
) -> None:
    @app.get("/long/<name>")
    @stats.counter("long_names", "Names.", labels={"name": lambda: request.view_args["name"]})  # type: ignore[index]
    def long(name: str) -> str:
        return name

    client.get("/long/" + "n" * 200)
    client.get("/long/" + "n" * 201)
    assert values(client, "long_names_total") == {
        (("name", "n" * 200),): 1,
        (("name", "other"),): 1,
    }


def test_max_label_sets_defaults_to_the_config_key() -> None:
    stats = Stats()
    app = Flask(__name__)
    app.config["STATS_MAX_LABEL_SETS"] = 2
    stats.init_app(app)

    @app.get("/<name>")
    @stats.counter("names", "Names.", labels={"name": lambda: request.view_args["name"]})  # type: ignore[index]
    def named(name: str) -> str:
        return name

    client = app.test_client()
    for name in "abcd":
        client.get(f"/{name}")
    assert values(client, "names_total") == {
        (("name", "a"),): 1,
        (("name", "b"),): 1,
        (("name", "other"),): 2,
    }


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda s: s.counter("1st", "x"), "'1st' is not a Prometheus metric name"),
        (lambda s: s.counter("ok", "x", labels={"bad-name": "v"}), "label 'bad-name'"),
        (lambda s: s.counter("ok", "x", labels={"__name": "v"}), "starts with '__'"),
        (lambda s: s.histogram("ok", "x", labels={"le": "v"}), "adds the label 'le'"),
        (lambda s: s.summary("ok", "x", labels={"quantile": "v"}), "label 'quantile'"),
        (lambda s: s.histogram("ok", "x", buckets=[2, 1]), "buckets must be increasing"),
        (lambda s: s.counter("ok", "x", max_label_sets=0), "max_label_sets"),
        (lambda s: s.counter("flask_http_requests", "x"), "flask_http_requests"),
    ],
)
def test_a_bad_declaration_fails_where_it_is_made(
    stats: Stats, app: Flask, declare: t.Callable[[Stats], object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        declare(stats)


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda s: s.counter("ok", "x", labels={"v": object()}), "a text, a number or a function"),
        (lambda s: s.counter("ok", "x", labels={"v": lambda a, b: a}), "nothing or the response"),
        (lambda s: s.gauge("ok", "x", labels={"v": lambda r: r.status}), "before there is a"),
    ],
)
def test_a_label_value_of_the_wrong_kind_is_a_type_error(
    stats: Stats, declare: t.Callable[[Stats], object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        declare(stats)


def test_a_name_is_declared_once_per_stats_object(stats: Stats) -> None:
    stats.counter("once", "Once.")
    with pytest.raises(ValueError, match="'once' is already declared"):
        stats.histogram("once", "Again.")
    with pytest.raises(ValueError, match="'once' is already declared"):
        stats.info("once", "Again.")


def test_a_metric_clashing_with_a_built_in_one_fails_at_init_app() -> None:
    stats = Stats()
    stats.counter("flask_http_exceptions", "Clashes with the exceptions counter.")
    with pytest.raises(ValueError, match="flask_http_exceptions"):
        stats.init_app(Flask(__name__))
