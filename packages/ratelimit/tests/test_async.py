"""limit, shared_limit and exempt apply to ``async def`` views as to plain ones."""

from __future__ import annotations

import asyncio

from flask import Blueprint, Flask

from flask_plug.ratelimit import RateLimiter


def make_app() -> Flask:
    limiter = RateLimiter()
    app = Flask(__name__)
    limiter.init_app(app, default="5/minute")

    @app.get("/limited")
    @limiter.limit("2/minute")
    async def limited() -> str:
        await asyncio.sleep(0)
        return "limited"

    @app.get("/a")
    @limiter.shared_limit("3/minute", scope="pair")
    async def shared_a() -> str:
        return "a"

    @app.get("/b")
    @limiter.shared_limit("3/minute", scope="pair")
    async def shared_b() -> str:
        return "b"

    @app.get("/exempt")
    @limiter.exempt
    async def exempt() -> str:
        return "exempt"

    free = Blueprint("free", __name__)

    @free.get("/inside")
    async def inside() -> str:
        return "inside"

    limiter.exempt(free)
    app.register_blueprint(free, url_prefix="/free")
    return app


def test_limit_counts_an_async_view() -> None:
    client = make_app().test_client()
    answers = [client.get("/limited") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[0].get_data(as_text=True) == "limited"
    assert "RateLimit" in answers[0].headers


def test_shared_limit_counts_async_views_together() -> None:
    client = make_app().test_client()
    statuses = [client.get(path).status_code for path in ("/a", "/b", "/a", "/b")]
    assert statuses == [200, 200, 200, 429]


def test_exempt_async_view_and_blueprint_are_never_limited() -> None:
    client = make_app().test_client()
    for _ in range(8):
        assert client.get("/exempt").get_data(as_text=True) == "exempt"
        assert client.get("/free/inside").get_data(as_text=True) == "inside"
