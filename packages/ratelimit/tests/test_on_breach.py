"""``on_breach``, per limit and app-wide: called with the breach; a response it returns is
sent, with the rate limit headers; one that raises is logged and the 429 is sent."""

from __future__ import annotations

import asyncio
import json
import logging
import typing as t

import pytest
from flask import Flask, jsonify

from flask_plug.ratelimit import Breach, RateLimiter


def breach_app(**options: t.Any) -> tuple[Flask, list[tuple[str, Breach]]]:
    calls: list[tuple[str, Breach]] = []

    def app_wide(breach: Breach) -> None:
        calls.append(("app", breach))

    def for_search(breach: Breach) -> t.Any:
        calls.append(("search", breach))
        return jsonify(error="slow down", wait=round(breach.retry_after)), 429

    app = Flask(__name__)
    limiter = RateLimiter(app, on_breach=app_wide, **options)

    @app.get("/search")
    @limiter.limit("2/minute", on_breach=for_search)
    async def search() -> str:
        await asyncio.sleep(0)
        return "results"

    @app.get("/plain")
    @limiter.limit("10/hour; 1/minute")
    def plain() -> str:
        return "plain"

    return app, calls


def test_the_limits_own_response_is_sent_with_the_headers() -> None:
    app, calls = breach_app()
    client = app.test_client()
    assert [client.get("/search").status_code for _ in range(2)] == [200, 200]
    assert calls == []
    refused = client.get("/search", environ_base={"REMOTE_ADDR": "192.0.2.4"})
    assert refused.status_code == 200  # another client
    refused = client.get("/search")
    assert refused.status_code == 429
    assert refused.content_type == "application/json"
    assert json.loads(refused.data)["error"] == "slow down"
    assert refused.headers["RateLimit-Policy"] == '"search/2-60";q=2;w=60'
    assert int(refused.headers["Retry-After"]) >= 1
    # The limit's own function, then the app's, both with the breach.
    assert [name for name, _ in calls] == ["search", "app"]
    breach = calls[0][1]
    assert breach == calls[1][1]
    assert (breach.limit, breach.name, breach.key) == ("2 per 1 minute", "search/2-60", "127.0.0.1")
    assert 0 < breach.retry_after <= 30


def test_returning_none_sends_the_429_and_names_the_longest_wait() -> None:
    app, calls = breach_app()
    client = app.test_client()
    client.get("/plain")
    refused = client.get("/plain")
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    [(name, breach)] = calls
    assert name == "app" and breach.name == "plain/1-60" and breach.limit == "1 per 1 minute"


def test_a_failing_function_is_logged_and_the_429_sent(caplog: pytest.LogCaptureFixture) -> None:
    def broken(breach: Breach) -> None:
        raise RuntimeError("mail server down")

    app = Flask(__name__)
    app.config["RATELIMIT_ON_BREACH"] = broken
    limiter = RateLimiter(app)
    app.add_url_rule("/", "x", limiter.limit("1/minute")(lambda: "ok"))
    client = app.test_client()
    client.get("/")
    with caplog.at_level(logging.ERROR):
        refused = client.get("/")
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    [record] = [r for r in caplog.records if "on_breach" in r.getMessage()]
    assert "broken" in record.getMessage() and record.exc_info is not None


def test_any_view_return_value_is_a_response() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, on_breach=lambda breach: ("Come back later", 503))
    app.add_url_rule("/", "x", limiter.limit("1/minute")(lambda: "ok"))
    client = app.test_client()
    client.get("/")
    answer = client.get("/")
    assert (answer.status_code, answer.get_data(as_text=True)) == (503, "Come back later")
    assert "RateLimit" in answer.headers and "Retry-After" not in answer.headers


def test_application_and_default_breaches_call_the_app_wide_function() -> None:
    breaches: list[Breach] = []
    app = Flask(__name__)
    RateLimiter(app, default="5/minute", application="1/minute", on_breach=breaches.append)
    app.add_url_rule("/", "x", lambda: "ok")
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(2)] == [200, 429]
    assert [b.name for b in breaches] == ["app/1-60"]
