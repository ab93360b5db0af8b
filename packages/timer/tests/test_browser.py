"""Chromium reads the Server-Timing we send exactly as we meant it."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, request

from flask_plug.timer import Timer, request_timed

pytestmark = pytest.mark.browser

SPANS = [
    ("db", "load user"),
    ("render.page", 'quotes " and \\ backslash, comma; semicolon'),
    ("cache", "café ½ ÿ"),
    ("bare", None),
]


def test_navigation_timing_shows_our_spans(
    browser: t.Any, live_server: t.Callable[[Flask], str]
) -> None:
    app = Flask(__name__)
    timer = Timer(app, spans=True)

    @app.get("/")
    def index() -> str:
        for name, desc in SPANS:
            with timer.span(name, desc=desc):
                sum(range(20_000))
        return "<!doctype html><title>timed</title><p>timed</p>"

    measured: dict[str, float] = {}

    @request_timed.connect_via(app)
    def record(sender: Flask, duration: float, spans: t.Any, **extra: t.Any) -> None:
        if request.path != "/":
            return  # the browser also asks for /favicon.ico
        measured["app"] = duration
        measured.update((span.name, span.duration) for span in spans)

    page = browser.new_page()
    page.goto(live_server(app) + "/")
    seen = page.evaluate(
        """() => performance.getEntriesByType('navigation')[0].serverTiming
                 .map(e => ({name: e.name, duration: e.duration, description: e.description}))"""
    )
    assert [entry["name"] for entry in seen] == ["app"] + [name for name, _ in SPANS]
    assert [entry["description"] for entry in seen[1:]] == [desc or "" for _, desc in SPANS]
    for entry in seen:
        # Sent in milliseconds with three decimals.
        assert entry["duration"] == pytest.approx(measured[entry["name"]] * 1000, abs=0.0006)
