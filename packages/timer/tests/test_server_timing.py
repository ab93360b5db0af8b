from __future__ import annotations

import typing as t

import pytest
from flask import Flask, abort

from flask_plug.timer import Timer

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def test_every_response_carries_the_total(client: FlaskClient, parse: t.Any) -> None:
    response = client.get("/")
    [total] = parse(*response.headers.getlist("Server-Timing"))
    assert total["name"] == "app"
    assert float(total["dur"]) >= 0


def test_unknown_path_404_is_timed(client: FlaskClient, parse: t.Any) -> None:
    response = client.get("/missing")
    assert response.status_code == 404
    assert parse(response.headers["Server-Timing"])[0]["name"] == "app"


def test_abort_and_method_not_allowed_are_timed(app: Flask, parse: t.Any) -> None:
    @app.get("/forbidden")
    def forbidden() -> str:
        abort(403)

    client = app.test_client()
    assert client.get("/forbidden").status_code == 403
    assert "Server-Timing" in client.get("/forbidden").headers
    response = client.delete("/")
    assert response.status_code == 405
    assert parse(response.headers["Server-Timing"])[0]["name"] == "app"


def test_unhandled_exception_500_is_timed(app: Flask, parse: t.Any) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert parse(response.headers["Server-Timing"])[0]["name"] == "app"


def test_existing_server_timing_from_the_view_is_kept(app: Flask, parse: t.Any) -> None:
    @app.get("/cached")
    def cached() -> tuple[str, dict[str, str]]:
        return "ok", {"Server-Timing": 'cache;desc="hit"'}

    response = app.test_client().get("/cached")
    metrics = parse(*response.headers.getlist("Server-Timing"))
    assert [m["name"] for m in metrics] == ["cache", "app"]
    assert metrics[0]["desc"] == "hit"


def test_total_covers_the_view(app: Flask, timer: Timer, parse: t.Any) -> None:
    @app.get("/work")
    def work() -> str:
        with timer.span("work"):
            sum(range(10_000))
        return "done"

    metrics = parse(app.test_client().get("/work").headers["Server-Timing"])
    by_name = {m["name"]: float(m["dur"]) for m in metrics}
    assert by_name["app"] >= by_name["work"] >= 0


def test_streamed_response_is_timed_when_headers_are_sent(app: Flask, parse: t.Any) -> None:
    @app.get("/stream")
    def stream() -> t.Any:
        return app.response_class(iter([b"a", b"b"]))

    response = app.test_client().get("/stream")
    assert response.data == b"ab"
    assert parse(response.headers["Server-Timing"])[0]["name"] == "app"


def test_custom_metric_name(timer: Timer, parse: t.Any) -> None:
    app = Flask(__name__)
    timer.init_app(app, metric_name="origin")
    metrics = parse(app.test_client().get("/").headers["Server-Timing"])
    assert metrics[0]["name"] == "origin"


@pytest.mark.parametrize("debug", [True, False])
def test_spans_default_to_debug_mode(debug: bool, parse: t.Any) -> None:
    app = Flask(__name__)
    app.debug = debug
    timer = Timer(app)

    @app.get("/")
    def index() -> str:
        with timer.span("db"):
            pass
        return "ok"

    names = [m["name"] for m in parse(app.test_client().get("/").headers["Server-Timing"])]
    assert names == (["app", "db"] if debug else ["app"])
