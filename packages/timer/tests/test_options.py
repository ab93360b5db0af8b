from __future__ import annotations

import logging
import re
import typing as t

import pytest
from flask import Flask

from flask_plug.timer import Timer, TimerSettings, request_timed


def make_app(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    app.get("/")(lambda: "ok")
    return app


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("TIMER_SPANS", "yes", "TIMER_SPANS must be True or False, got 'yes'"),
        ("TIMER_LOG", 1, "TIMER_LOG must be True or False"),
        ("TIMER_RESPONSE_TIME_HEADER", "on", "TIMER_RESPONSE_TIME_HEADER must be True"),
        ("TIMER_METRIC_NAME", "my app", "TIMER_METRIC_NAME 'my app' is not an HTTP token"),
        ("TIMER_TIMING_ALLOW_ORIGIN", "example.com", "'example.com' is not an origin"),
        ("TIMER_TIMING_ALLOW_ORIGIN", ["*", "https://a.example"], "list no others"),
        ("TIMER_TIMING_ALLOW_ORIGIN", 5, "must be '*', an origin or a list"),
        ("TIMER_LOG_LEVEL", "LOUD", "TIMER_LOG_LEVEL must be a logging level such as 'INFO'"),
        ("TIMER_LOG_LEVEL", 0, "TIMER_LOG_LEVEL must be a logging level"),
        ("TIMER_LOG_LEVEL", True, "TIMER_LOG_LEVEL must be a logging level"),
        ("TIMER_LOG_LEVEL", 2.5, "TIMER_LOG_LEVEL must be a logging level"),
        ("TIMER_SQLALCHEMY", "yes", "TIMER_SQLALCHEMY must be True or False"),
        ("TIMER_OTEL", 1, "TIMER_OTEL must be True or False"),
    ],
)
def test_bad_config_fails_at_init_app_naming_the_key(key: str, value: t.Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Timer(make_app(**{key: value}))


def test_keyword_beats_config_beats_default() -> None:
    timer = Timer(metric_name="fromkw")
    app = make_app(TIMER_METRIC_NAME="fromconfig", TIMER_LOG=True)
    timer.init_app(app, spans=True)
    settings = app.extensions["flask-plug-timer"]
    assert isinstance(settings, TimerSettings)
    assert (settings.metric_name, settings.log, settings.spans) == ("fromkw", True, True)
    assert settings.response_time_header is False


def test_init_app_twice_is_an_error() -> None:
    timer = Timer()
    app = make_app()
    timer.init_app(app)
    with pytest.raises(RuntimeError, match="already registered on this app"):
        timer.init_app(app)


def test_one_timer_serves_several_apps_with_their_own_settings() -> None:
    timer = Timer()
    first, second = make_app(TIMER_METRIC_NAME="first"), make_app(TIMER_METRIC_NAME="second")
    timer.init_app(first)
    timer.init_app(second)
    assert first.test_client().get("/").headers["Server-Timing"].startswith("first;dur=")
    assert second.test_client().get("/").headers["Server-Timing"].startswith("second;dur=")


def test_response_time_header_matches_the_total() -> None:
    app = make_app(TIMER_RESPONSE_TIME_HEADER=True)
    Timer(app)
    response = app.test_client().get("/")
    total = response.headers["Server-Timing"].removeprefix("app;dur=")
    assert response.headers["X-Response-Time"] == total + "ms"


def test_no_response_time_header_by_default() -> None:
    app = make_app()
    Timer(app)
    assert "X-Response-Time" not in app.test_client().get("/").headers


@pytest.mark.parametrize(
    ("value", "header"),
    [
        ("*", "*"),
        ("https://App.Example.com", "https://app.example.com"),
        (
            ["https://b.example", "http://a.example:8080"],
            "http://a.example:8080, https://b.example",
        ),
    ],
)
def test_timing_allow_origin(value: t.Any, header: str) -> None:
    app = make_app(TIMER_TIMING_ALLOW_ORIGIN=value)
    Timer(app)
    assert app.test_client().get("/").headers["Timing-Allow-Origin"] == header


def test_no_timing_allow_origin_by_default() -> None:
    app = make_app()
    Timer(app)
    assert "Timing-Allow-Origin" not in app.test_client().get("/").headers


def test_log_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(TIMER_LOG=True)
    Timer(app)
    with caplog.at_level(logging.DEBUG, logger=app.logger.name):
        app.test_client().get("/caf%C3%A9?q=1")
    [record] = [r for r in caplog.records if r.name == app.logger.name]
    assert record.levelno == logging.INFO
    assert re.fullmatch(r"GET /café 404 \d+\.\d{3} ms", record.getMessage())


@pytest.mark.parametrize(
    ("value", "level"),
    [("warning", logging.WARNING), ("DEBUG", logging.DEBUG), (logging.ERROR, logging.ERROR)],
)
def test_log_level_option(caplog: pytest.LogCaptureFixture, value: t.Any, level: int) -> None:
    app = make_app(TIMER_LOG=True, TIMER_LOG_LEVEL=value)
    Timer(app)
    with caplog.at_level(logging.DEBUG, logger=app.logger.name):
        app.test_client().get("/")
    [record] = [r for r in caplog.records if r.name == app.logger.name]
    assert record.levelno == level


def test_no_log_line_outside_debug(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    Timer(app)
    with caplog.at_level(logging.DEBUG, logger=app.logger.name):
        app.test_client().get("/")
    assert not [r for r in caplog.records if r.name == app.logger.name]


def test_request_timed_signal_reports_duration_status_and_spans() -> None:
    app = make_app()
    timer = Timer(app)

    @app.get("/spanned")
    def spanned() -> tuple[str, int]:
        with timer.span("db", desc="query"):
            pass
        return "created", 201

    received: list[dict[str, t.Any]] = []

    def receiver(sender: Flask, **extra: t.Any) -> None:
        assert sender is app
        received.append(extra)

    with request_timed.connected_to(receiver, app):
        header = app.test_client().get("/spanned").headers["Server-Timing"]
    [event] = received
    assert event["status"] == 201
    assert event["duration"] >= event["spans"][0].duration >= 0
    assert (event["spans"][0].name, event["spans"][0].desc) == ("db", "query")
    assert header.startswith("app;dur=")  # spans recorded even when not sent


def test_failing_signal_receiver_does_not_break_the_response(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app()
    Timer(app)

    def broken(sender: Flask, **extra: t.Any) -> None:
        raise RuntimeError("receiver bug")

    with request_timed.connected_to(broken, app):
        response = app.test_client().get("/")
    assert response.status_code == 200
    assert "a request_timed receiver failed" in caplog.text


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unknown Timer option"):
        Timer(make_app(), span=True)  # type: ignore[call-arg]
