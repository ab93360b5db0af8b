"""Async views are counted, and ``@stats.exclude`` leaves them out, as plain ones."""

from __future__ import annotations

import asyncio
import typing as t

from flask import Flask

from flask_plug.stats import Stats

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
