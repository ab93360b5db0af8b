from __future__ import annotations

import os
import typing as t
from uuid import uuid4

import pytest
from flask import Flask

from flask_plug.ratelimit import RateLimiter

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


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
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> t.Iterator[dict[str, str]]:
    """``RateLimiter`` options for memory storage, then for the Redis at ``REDIS_URL``
    under a key prefix of this test's own (deleted afterwards)."""
    if request.param == "memory":
        yield {"storage_uri": "memory://"}
        return
    redis = pytest.importorskip("redis")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as e:
        client.close()
        reason = f"Redis at {url} is unreachable ({e}); set REDIS_URL"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = f"test-{uuid4().hex}"
    try:
        yield {"storage_uri": url, "key_prefix": prefix}
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()
