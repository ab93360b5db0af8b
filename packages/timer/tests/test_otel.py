"""``TIMER_OTEL``: each timer span is an OpenTelemetry span too, a child of the current one
(the request span of opentelemetry-instrumentation-flask), lasting what ``Server-Timing`` says.
Off by default, and then OpenTelemetry is never imported."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import re
import subprocess
import sys
import threading
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.trace import SpanKind

from flask_plug.timer import Timer

from .conftest import docs_example, parse_server_timing, run_script


@pytest.fixture
def otel_app() -> t.Iterator[tuple[Flask, Timer]]:
    """An app timed with TIMER_OTEL, instrumented by opentelemetry-instrumentation-flask."""
    app = Flask(__name__)
    timer = Timer(app, spans=True, otel=True)
    FlaskInstrumentor().instrument_app(app)
    yield app, timer
    FlaskInstrumentor().uninstrument_app(app)


def header(app: Flask, path: str) -> dict[str, dict[str, str]]:
    response = app.test_client().get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    metrics = parse_server_timing(*response.headers.getlist("Server-Timing"))
    return {m["name"]: m for m in metrics}


def by_name(otel_spans: t.Any) -> dict[str, t.Any]:
    spans = otel_spans.get_finished_spans()
    named = {span.name: span for span in spans}
    assert len(named) == len(spans), [span.name for span in spans]
    return named


def ms(span: t.Any) -> str:
    """An OTel span's duration as Server-Timing writes durations."""
    return f"{(span.end_time - span.start_time) / 1_000_000:.3f}"


def test_spans_nest_under_the_request_span_and_last_what_the_header_says(
    otel_app: tuple[Flask, Timer], otel_spans: t.Any
) -> None:
    app, timer = otel_app

    @app.get("/notes/<int:n>")
    def notes(n: int) -> str:
        with timer.span("outer", desc="the whole job"):
            timer.start("call")
            with timer.span("inner"):
                sum(range(1000))
            timer.stop("call")
        return "ok"

    metrics = header(app, "/notes/1")
    spans = by_name(otel_spans)
    request = spans["GET /notes/<int:n>"]
    assert request.kind == SpanKind.SERVER
    outer, inner, call = spans["outer"], spans["inner"], spans["call"]
    assert {s.context.trace_id for s in (outer, inner, call)} == {request.context.trace_id}
    assert outer.parent.span_id == request.context.span_id
    assert call.parent.span_id == outer.context.span_id
    # A start() span is never current: "inner" opened after it is outer's child.
    assert inner.parent.span_id == outer.context.span_id
    assert outer.attributes["flask_plug.timer.desc"] == "the whole job"
    for name in ("outer", "inner", "call"):
        assert ms(spans[name]) == metrics[name]["dur"]
        assert spans[name].kind == SpanKind.INTERNAL
    assert request.start_time <= outer.start_time <= inner.start_time
    assert inner.end_time <= outer.end_time <= request.end_time


def test_without_a_current_span_timer_spans_start_a_trace(otel_spans: t.Any) -> None:
    app = Flask(__name__)
    timer = Timer(app, spans=True, otel=True)

    @app.get("/")
    def index() -> str:
        with timer.span("outer"), timer.span("inner"):
            pass
        return "ok"

    header(app, "/")
    spans = by_name(otel_spans)
    assert spans["outer"].parent is None
    assert spans["inner"].parent.span_id == spans["outer"].context.span_id


def test_a_span_still_open_ends_with_the_header_and_is_marked(
    otel_app: tuple[Flask, Timer], otel_spans: t.Any
) -> None:
    app, timer = otel_app

    @app.get("/open")
    def still_open() -> str:
        timer.start("never-stopped")
        timer.span("never-exited").__enter__()
        return "ok"

    metrics = header(app, "/open")
    spans = by_name(otel_spans)
    for name in ("never-stopped", "never-exited"):
        assert metrics[name]["unfinished"] == "1"
        assert spans[name].attributes["flask_plug.timer.unfinished"] is True
        assert ms(spans[name]) == metrics[name]["dur"]


def test_a_span_left_open_is_not_the_parent_of_the_next_request(otel_spans: t.Any) -> None:
    # A worker thread keeps its context from one request to the next.
    app = Flask(__name__)
    timer = Timer(app, spans=True, otel=True)

    @app.get("/leak")
    def leak() -> str:
        timer.span("leaked").__enter__()
        return "ok"

    @app.get("/next")
    def next_request() -> str:
        with timer.span("next"):
            pass
        return "ok"

    header(app, "/leak")
    header(app, "/next")
    assert by_name(otel_spans)["next"].parent is None


def test_async_view_spans(
    otel_app: tuple[Flask, Timer], otel_spans: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    app, timer = otel_app
    fetch = timer.span("fetch")

    async def one() -> int:
        with fetch:
            await asyncio.sleep(0.001)
        return 1

    @app.get("/async")
    async def view() -> str:
        with timer.span("gather"):
            results = await asyncio.gather(one(), one(), one())
        return str(sum(results))

    metrics = header(app, "/async")
    # Ending another task's span would detach a context this task never attached, which
    # OpenTelemetry logs as an error.
    assert not [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    spans = otel_spans.get_finished_spans()
    [request] = [s for s in spans if s.kind == SpanKind.SERVER]
    [gather] = [s for s in spans if s.name == "gather"]
    fetches = [s for s in spans if s.name == "fetch"]
    assert len(fetches) == 3
    assert gather.parent.span_id == request.context.span_id
    # Each task ended its own span, though the three entered one span object at once.
    assert {s.parent.span_id for s in fetches} == {gather.context.span_id}
    assert ms(gather) == metrics["gather"]["dur"]
    total_ns = sum(s.end_time - s.start_time for s in fetches)
    assert f"{total_ns / 1_000_000:.3f}" == metrics["fetch"]["dur"]


def test_thread_spans_keep_their_parent(otel_app: tuple[Flask, Timer], otel_spans: t.Any) -> None:
    app, timer = otel_app

    def work() -> None:
        with timer.span("in-thread"):
            pass

    @app.get("/thread")
    def view() -> str:
        with timer.span("spawn"):
            thread = threading.Thread(target=contextvars.copy_context().run, args=(work,))
            thread.start()
            thread.join()
        return "ok"

    metrics = header(app, "/thread")
    spans = by_name(otel_spans)
    assert spans["in-thread"].parent.span_id == spans["spawn"].context.span_id
    assert ms(spans["in-thread"]) == metrics["in-thread"]["dur"]


def test_a_span_ending_after_the_response_still_reaches_otel(otel_spans: t.Any) -> None:
    app = Flask(__name__)
    timer = Timer(app, spans=True, otel=True)
    sent = threading.Event()
    threads: list[threading.Thread] = []

    def work() -> None:
        sent.wait(30)
        with timer.span("after-response"):
            pass

    @app.get("/")
    def index() -> str:
        threads.append(threading.Thread(target=contextvars.copy_context().run, args=(work,)))
        threads[0].start()
        return "ok"

    assert "after-response" not in header(app, "/")
    sent.set()
    threads[0].join(30)
    assert "after-response" in by_name(otel_spans)


def run_python(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )


def test_off_by_default_and_then_never_imported() -> None:
    script = """
import sys
from flask import Flask
from flask_plug.timer import Timer

app = Flask(__name__)
timer = Timer(app, spans=True)

@app.get("/")
def index():
    with timer.span("db"):
        pass
    return "ok"

assert "db;dur=" in app.test_client().get("/").headers["Server-Timing"]
print(sorted(name for name in sys.modules if name.split(".")[0] in ("opentelemetry", "sqlalchemy")))
"""
    result = run_python(script)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_without_opentelemetry_the_option_is_refused() -> None:
    # A fresh interpreter where opentelemetry cannot be imported.
    script = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from flask import Flask\n"
        "from flask_plug.timer import Timer\n"
        "Timer(Flask('x'), otel=True)\n"
    )
    result = run_python(script)
    assert result.returncode != 0
    assert (
        "RuntimeError: TIMER_OTEL is on but opentelemetry-api is not installed;"
        " pip install 'flask-plug-timer[otel]'"
    ) in result.stderr


def test_the_docs_example_prints_what_the_page_shows(tmp_path: Path) -> None:
    """docs/timer.md's example sets the process's tracer provider, which can be set once:
    it runs here in a fresh interpreter, and prints the header and the spans shown."""
    code, shown = docs_example("test_otel.py::test_the_docs_example_prints_what_the_page_shows")
    result = run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    header, *spans = result.stdout.splitlines()
    shown_header, *shown_spans = shown

    def shape(field: str) -> list[tuple[str, str | None]]:
        return [(m["name"], m.get("desc")) for m in parse_server_timing(field)]

    assert shape(header) == shape(shown_header)
    duration = re.compile(r"\d+\.\d{3}")
    assert [duration.sub("N", line) for line in spans] == [
        duration.sub("N", line) for line in shown_spans
    ]
