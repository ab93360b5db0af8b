"""The limiter's errors reach the app's handlers for their status code, as Werkzeug's own
``TooManyRequests`` and ``ServiceUnavailable`` do (and Flask-Limiter's error did)."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException, ServiceUnavailable, TooManyRequests

from flask_plug.ratelimit import RateLimiter


def handled_by_code(app: Flask, code: int) -> None:
    @app.errorhandler(code)
    def by_code(error: HTTPException) -> tuple[dict[str, object], int]:
        retry_after = getattr(error, "retry_after", "none")
        return {"handled": type(error).__name__, "retry_after": retry_after}, code


def test_both_429s_reach_a_handler_for_429() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    app.add_url_rule("/", "pair", limiter.limit("1/minute burst 2", cost=2)(lambda: "ok"))
    app.add_url_rule("/big", "big", limiter.limit("1/minute", cost=2)(lambda: "ok"))
    handled_by_code(app, 429)
    client = app.test_client()
    assert client.get("/").status_code == 200
    refused = client.get("/")
    assert refused.json is not None
    assert refused.json["handled"] == "RateLimitExceeded"
    assert refused.json["retry_after"] == pytest.approx(120, abs=1)
    assert refused.headers["Retry-After"] in ("119", "120")
    never = client.get("/big")
    assert never.json == {"handled": "RateLimitNeverAllowed", "retry_after": None}
    assert "Retry-After" not in never.headers


def test_the_storage_outage_reaches_a_handler_for_503() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(
        app, storage_uri="redis://127.0.0.1:9/0", storage_timeout_ms=50, on_storage_error="deny"
    )
    app.get("/")(limiter.limit("1/minute")(lambda: "ok"))
    handled_by_code(app, 503)
    response = app.test_client().get("/")
    assert response.status_code == 503
    assert response.json == {"handled": "RateLimitStorageUnavailable", "retry_after": 1}


def test_the_errors_are_werkzeugs_own_kinds() -> None:
    from flask_plug.ratelimit import (
        RateLimitExceeded,
        RateLimitNeverAllowed,
        RateLimitStorageUnavailable,
    )

    assert issubclass(RateLimitExceeded, TooManyRequests)
    assert issubclass(RateLimitNeverAllowed, TooManyRequests)
    assert issubclass(RateLimitStorageUnavailable, ServiceUnavailable)
    # Their own bodies and headers, not Werkzeug's.
    error = RateLimitExceeded("1 per 1 minute", 1.5)
    assert error.get_headers() == [("Content-Type", "application/problem+json")]
    assert error.retry_after == 1.5
