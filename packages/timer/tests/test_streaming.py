"""Streamed responses, over a live server: ``Server-Timing`` travels with the headers, before
the body, so it holds what happened until then. Spans of the body (a generator wrapped in
``stream_with_context``) are logged at debug level as dropped, and with ``TIMER_OTEL`` they
are OpenTelemetry spans like any other. No trailer is sent."""

from __future__ import annotations

import http.client
import logging
import typing as t
from urllib.parse import urlsplit

import pytest
from flask import Flask, Response, stream_with_context
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.trace import SpanKind

from flask_plug.timer import Timer

from .conftest import parse_server_timing


def streaming_app(otel: bool, async_view: bool) -> tuple[Flask, Timer]:
    app = Flask(__name__)
    timer = Timer(app, spans=True, otel=otel)

    def respond() -> Response:
        with timer.span("prepare"):
            pass
        timer.start("whole-body")

        @stream_with_context
        def body() -> t.Iterator[str]:
            for n in range(3):
                with timer.span("chunk"):
                    yield f"{n}\n"
            timer.stop("whole-body")

        return Response(body(), mimetype="text/plain")

    if async_view:

        @app.get("/stream")
        async def stream_async() -> Response:
            return respond()
    else:
        app.get("/stream")(respond)
    return app, timer


def fetch(base: str) -> http.client.HTTPResponse:
    url = urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
    connection.request("GET", "/stream", headers={"TE": "trailers"})
    return connection.getresponse()


def dropped_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if "ended after the response started" in r.getMessage() and r.levelno == logging.DEBUG
    ]


@pytest.mark.parametrize("async_view", [False, True], ids=["sync", "async"])
def test_header_holds_what_ran_before_the_body(
    live_server: t.Any, caplog: pytest.LogCaptureFixture, async_view: bool
) -> None:
    app, _ = streaming_app(otel=False, async_view=async_view)
    base = live_server(app)
    with caplog.at_level(logging.DEBUG):
        response = fetch(base)
        assert response.getheader("Transfer-Encoding") == "chunked"
        assert response.getheader("Trailer") is None
        metrics = {
            m["name"]: m for m in parse_server_timing(*response.headers.get_all("Server-Timing"))
        }
        assert response.read() == b"0\n1\n2\n"
        live_server.stop()  # the request has ended: its body's spans are done
    assert list(metrics) == ["app", "prepare", "whole-body"]
    assert metrics["whole-body"]["unfinished"] == "1"
    assert dropped_messages(caplog) == [
        "timer: span 'chunk' ended after the response started, so it is not in Server-Timing"
        f" ({n} dropped in this request)"
        for n in (1, 2, 3)
    ] + [
        "timer: span 'whole-body' ended after the response started, so it is not in"
        " Server-Timing (4 dropped in this request)"
    ]


def test_body_spans_are_opentelemetry_spans_of_the_request(
    live_server: t.Any, otel_spans: t.Any
) -> None:
    app, _ = streaming_app(otel=True, async_view=False)
    FlaskInstrumentor().instrument_app(app)
    try:
        response = fetch(live_server(app))
        metrics = {
            m["name"]: m for m in parse_server_timing(*response.headers.get_all("Server-Timing"))
        }
        assert response.read() == b"0\n1\n2\n"
        live_server.stop()
    finally:
        FlaskInstrumentor().uninstrument_app(app)
    spans = otel_spans.get_finished_spans()
    [request] = [s for s in spans if s.kind == SpanKind.SERVER]
    chunks = [s for s in spans if s.name == "chunk"]
    assert len(chunks) == 3
    assert {s.parent.span_id for s in chunks} == {request.context.span_id}
    [prepare] = [s for s in spans if s.name == "prepare"]
    assert f"{(prepare.end_time - prepare.start_time) / 1e6:.3f}" == metrics["prepare"]["dur"]
    # Cut where the header was written, as Server-Timing reports it.
    [whole] = [s for s in spans if s.name == "whole-body"]
    assert whole.attributes["flask_plug.timer.unfinished"] is True
    assert f"{(whole.end_time - whole.start_time) / 1e6:.3f}" == metrics["whole-body"]["dur"]
    assert all(whole.end_time <= chunk.start_time for chunk in chunks)


def test_a_generator_without_stream_with_context_records_nothing(
    live_server: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask(__name__)
    timer = Timer(app, spans=True)

    @app.get("/stream")
    def stream() -> Response:
        def body() -> t.Iterator[str]:
            with timer.span("outside"):
                yield "x"
            timer.stop("outside")

        return Response(body())

    with caplog.at_level(logging.DEBUG):
        response = fetch(live_server(app))
        assert response.read() == b"x"
        live_server.stop()
    assert [m["name"] for m in parse_server_timing(response.headers["Server-Timing"])] == ["app"]
    assert not [r for r in caplog.records if "outside" in r.getMessage()]
