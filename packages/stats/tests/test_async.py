"""Async views are counted, ``@stats.exclude`` leaves them out, and the custom metric
decorators count them, as plain ones."""

from __future__ import annotations

import asyncio
import typing as t

from flask import Flask, request
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats, generate_metrics

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def test_async_views_are_counted_and_exclude_works_on_them(
    summary: t.Callable[[FlaskClient], dict[str, t.Any]],
) -> None:
    stats = Stats()
    app = Flask(__name__)
    stats.init_app(app)

    @app.get("/counted")
    async def counted() -> str:
        await asyncio.sleep(0)
        return "counted"

    @app.get("/health")
    @stats.exclude
    async def health() -> str:
        return "ok"

    client = app.test_client()
    for _ in range(3):
        assert client.get("/counted").get_data(as_text=True) == "counted"
        assert client.get("/health").get_data(as_text=True) == "ok"
    endpoints = summary(client)
    assert endpoints["counted"]["count"] == 3
    assert "health" not in endpoints


def test_custom_metric_decorators_work_on_async_views() -> None:
    stats = Stats()
    app = Flask(__name__)
    stats.init_app(app)

    @app.get("/async/<kind>")
    @stats.counter(
        "async_reads",
        "Reads.",
        labels={
            "kind": lambda: request.view_args["kind"],  # type: ignore[index]
            "status": lambda response: response.status_code,
        },
    )
    @stats.histogram("async_seconds", "Seconds.")
    @stats.summary("async_summary", "Seconds.")
    @stats.gauge("async_running", "Running.")
    async def reads(kind: str) -> tuple[bytes, int]:
        await asyncio.sleep(0)
        # A scrape from inside the view: the gauge counts this call.
        return generate_metrics()[0], 202

    client = app.test_client()
    during = client.get("/async/book")
    assert during.status_code == 202
    assert "\nasync_running 1.0\n" in during.get_data(as_text=True)
    client.get("/async/pen")
    text = client.get("/admin/stats/metrics").get_data(as_text=True)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert samples[("async_reads_total", (("kind", "book"), ("status", "202")))] == 1
    assert samples[("async_reads_total", (("kind", "pen"), ("status", "202")))] == 1
    assert samples[("async_seconds_count", ())] == 2
    assert samples[("async_summary_count", ())] == 2
    assert samples[("async_running", ())] == 0
