from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from flask_plug.ratelimit import RateLimiter


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter()


@pytest.fixture
def app(limiter: RateLimiter) -> Flask:
    app = Flask(__name__)
    limiter.init_app(app)

    @app.get("/limited")
    @limiter.limit("3/minute")
    def limited() -> str:
        return "ok"

    @app.get("/free")
    def free() -> str:
        return "ok"

    return app


@pytest.fixture
def client(app: Flask) -> t.Any:
    return app.test_client()
