"""Spans time ``async def`` views: as the view's decorator, inside it, and shared."""

from __future__ import annotations

import asyncio
import typing as t

from flask import Flask

from flask_plug.timer import Timer


def metrics(app: Flask, path: str, parse: t.Any) -> dict[str, dict[str, str]]:
    response = app.test_client().get(path)
    assert response.status_code == 200
    return {m["name"]: m for m in parse(response.headers["Server-Timing"])}


def test_span_decorating_an_async_view(app: Flask, timer: Timer, parse: t.Any) -> None:
    @app.get("/async")
    @timer.span("view", desc="the whole view")
    async def view() -> str:
        await asyncio.sleep(0.001)
        return "async"

    assert app.test_client().get("/async").get_data(as_text=True) == "async"
    span = metrics(app, "/async", parse)["view"]
    assert span["desc"] == "the whole view"
    assert "unfinished" not in span
    assert float(span["dur"]) > 0


def test_spans_inside_an_async_view(app: Flask, timer: Timer, parse: t.Any) -> None:
    db = timer.span("db")

    @timer.span("fetch")
    async def fetch() -> int:
        await asyncio.sleep(0)
        return 1

    @app.get("/inside")
    async def inside() -> str:
        with db:
            await asyncio.sleep(0)
        results = await asyncio.gather(fetch(), fetch(), fetch())
        return str(sum(results))

    found = metrics(app, "/inside", parse)
    assert "unfinished" not in found["db"]
    assert "unfinished" not in found["fetch"]
    assert set(found) >= {"app", "db", "fetch"}
