"""A timing tool never fails a request: odd descriptions, span objects shared by threads."""

from __future__ import annotations

import logging
import threading
import time
import typing as t
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask

from flask_plug.timer import SpanTiming, Timer, request_timed


@pytest.mark.parametrize(
    ("desc", "read_back"),
    [
        ("日本", "\\u65e5\\u672c"),
        ("café €5", "café \\u20ac5"),
        ("line\nbreak", "line\\u000abreak"),
        ("nul\x00 del\x7f", "nul\\u0000 del\\u007f"),
        ("\ud800", "\\ud800"),
        ("emoji 🙂", "emoji \\U0001f642"),
    ],
)
def test_desc_that_cannot_travel_is_escaped_not_a_500(
    app: Flask, timer: Timer, parse: t.Any, desc: str, read_back: str
) -> None:
    @app.get("/odd")
    def odd() -> str:
        with timer.span("db", desc=desc):
            pass
        return "ok"

    response = app.test_client().get("/odd")
    assert response.status_code == 200
    metrics = {m["name"]: m for m in parse(response.headers["Server-Timing"])}
    assert metrics["db"]["desc"] == read_back


def test_unsendable_desc_is_logged_once_per_span_name(
    app: Flask, timer: Timer, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/odd/<word>")
    def odd(word: str) -> str:
        with timer.span("search", desc=f"for {word}"):
            pass
        return "ok"

    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        for word in ("日本", "中文", "ünïcode-is-fine", "한국"):
            assert client.get(f"/odd/{word}").status_code == 200
    messages = [r.getMessage() for r in caplog.records if "search" in r.getMessage()]
    assert len(messages) == 1
    assert "Latin-1" in messages[0]


def test_one_span_object_shared_by_16_threads(live_server: t.Callable[[Flask], str]) -> None:
    timer = Timer()
    app = Flask(__name__)
    timer.init_app(app, spans=True)
    db = timer.span("db", desc="shared")

    @app.get("/work")
    def work() -> str:
        for _ in range(2):
            with db:
                time.sleep(0.005)
        return "ok"

    seen: list[tuple[SpanTiming, ...]] = []
    lock = threading.Lock()

    def record(sender: Flask, spans: tuple[SpanTiming, ...], **extra: t.Any) -> None:
        with lock:
            seen.append(spans)

    base = live_server(app)
    start = threading.Barrier(16)

    def fetch(_: int) -> str:
        start.wait()
        with urllib.request.urlopen(f"{base}/work", timeout=30) as response:  # noqa: S310
            return response.headers["Server-Timing"]  # type: ignore[no-any-return]

    with request_timed.connected_to(record, app):
        with ThreadPoolExecutor(16) as pool:
            headers = list(pool.map(fetch, range(64)))
    assert len(headers) == len(seen) == 64
    assert not [h for h in headers if "unfinished" in h]
    for spans in seen:
        (span,) = spans
        assert (span.name, span.count, span.finished) == ("db", 2, True)
        # Two sleeps of 5 ms each: a duration below 10 ms came from another request's start.
        assert span.duration >= 0.010
