"""``timer.start(name)`` / ``timer.stop(name)``: spans for code that cannot use ``with``.

Unbalanced calls never reach the view as an exception: a span never stopped is ended
when the response starts and marked ``unfinished=1``; a stray stop is logged once.
"""

from __future__ import annotations

import asyncio
import logging
import typing as t

import pytest
from flask import Flask
from sqlalchemy import create_engine, event, text

from flask_plug.timer import SpanTiming, Timer, request_timed

from .conftest import parse_server_timing


def timed(app: Flask, path: str) -> tuple[dict[str, dict[str, str]], tuple[SpanTiming, ...]]:
    """The metrics of the response to ``path`` by name, and the spans of its signal."""
    seen: list[tuple[SpanTiming, ...]] = []

    def record(sender: Flask, spans: tuple[SpanTiming, ...], **extra: t.Any) -> None:
        seen.append(spans)

    with request_timed.connected_to(record, app):
        response = app.test_client().get(path)
    assert response.status_code == 200
    metrics = parse_server_timing(*response.headers.getlist("Server-Timing"))
    return {m["name"]: m for m in metrics}, seen[0]


def test_start_and_stop_make_one_metric(app: Flask, timer: Timer) -> None:
    @app.get("/pair")
    def pair() -> str:
        timer.start("remote", desc="the API call")
        sum(range(1000))
        timer.stop("remote")
        return "ok"

    metrics, spans = timed(app, "/pair")
    assert metrics["remote"]["desc"] == "the API call"
    assert "unfinished" not in metrics["remote"]
    [span] = spans
    assert (span.name, span.count, span.finished) == ("remote", 1, True)
    assert float(metrics["remote"]["dur"]) <= float(metrics["app"]["dur"])


def test_sqlalchemy_cursor_events_time_each_query(app: Flask, timer: Timer) -> None:
    # The case start/stop exist for: a pair of event hooks, no block to put a `with` around.
    engine = create_engine("sqlite://")

    @event.listens_for(engine, "before_cursor_execute")
    def before(*args: t.Any) -> None:
        timer.start("sql")

    @event.listens_for(engine, "after_cursor_execute")
    def after(*args: t.Any) -> None:
        timer.stop("sql")

    @app.get("/queries")
    def queries() -> str:
        with engine.connect() as connection:
            for n in range(3):
                connection.execute(text("select :n"), {"n": n})
        return "ok"

    try:
        metrics, spans = timed(app, "/queries")
    finally:
        engine.dispose()
    [span] = spans
    assert (span.name, span.count, span.finished) == ("sql", 3, True)
    assert "unfinished" not in metrics["sql"]


def test_a_span_never_stopped_is_ended_with_the_response_and_marked(
    app: Flask, timer: Timer
) -> None:
    @app.get("/forgotten")
    def forgotten() -> str:
        timer.start("forgotten", desc="no stop")
        return "ok"

    metrics, spans = timed(app, "/forgotten")
    assert metrics["forgotten"]["unfinished"] == "1"
    assert metrics["forgotten"]["desc"] == "no stop"
    [span] = spans
    assert span.finished is False
    assert span.duration * 1000 <= float(metrics["app"]["dur"]) + 0.001


def test_a_stray_stop_is_ignored_and_logged_once_per_name(
    app: Flask, timer: Timer, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/stray")
    def stray() -> str:
        timer.stop("never-started")
        timer.stop("never-started")
        return "ok"

    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            metrics, spans = timed(app, "/stray")
            assert spans == ()
            assert list(metrics) == ["app"]
    [message] = [r.getMessage() for r in caplog.records if "never-started" in r.getMessage()]
    assert message == (
        "timer.stop('never-started') without a matching timer.start(): ignored."
        " Logged once per name."
    )


def test_started_twice_needs_two_stops_and_stop_ends_the_latest(app: Flask, timer: Timer) -> None:
    @app.get("/twice")
    def twice() -> str:
        timer.start("step", desc="outer")
        timer.start("step", desc="inner")
        timer.stop("step")
        timer.stop("step")
        timer.start("left", desc="open")
        timer.start("left")
        timer.stop("left")
        return "ok"

    metrics, spans = timed(app, "/twice")
    by_name = {span.name: span for span in spans}
    assert (by_name["step"].count, by_name["step"].finished) == (2, True)
    # The latest "left" was stopped; the first is still open when the response starts.
    assert (by_name["left"].count, by_name["left"].finished) == (2, False)
    assert metrics["left"]["desc"] == "open"


def test_stop_also_ends_a_span_opened_by_with(app: Flask, timer: Timer) -> None:
    @app.get("/mixed")
    def mixed() -> str:
        with timer.span("mixed"):
            timer.stop("mixed")
        return "ok"

    _, spans = timed(app, "/mixed")
    [span] = spans
    assert (span.count, span.finished) == (1, True)


def test_outside_a_request_start_and_stop_do_nothing(
    timer: Timer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        timer.start("cli")
        timer.stop("cli")
        timer.stop("not-started")
    assert not caplog.records


@pytest.mark.parametrize("name", ["", "two words", "a,b", None])
def test_a_bad_name_raises_at_start(timer: Timer, name: t.Any) -> None:
    with pytest.raises(ValueError, match="not an HTTP token"):
        timer.start(name)


def test_start_and_stop_in_an_async_view(app: Flask, timer: Timer) -> None:
    @app.get("/async")
    async def view() -> str:
        timer.start("await")
        await asyncio.sleep(0.001)
        timer.stop("await")
        timer.start("pending")
        return "ok"

    metrics, spans = timed(app, "/async")
    assert "unfinished" not in metrics["await"]
    assert float(metrics["await"]["dur"]) >= 1.0
    assert metrics["pending"]["unfinished"] == "1"
