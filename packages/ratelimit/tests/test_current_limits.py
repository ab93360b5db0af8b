"""``current_limits()``: what the current request's limits leave, for its view."""

from __future__ import annotations

import typing as t

from flask import Flask

from flask_plug.ratelimit import Quota, RateLimiter, RateLimitExceeded, current_limits


def quota_app(storage: dict[str, str]) -> Flask:
    app = Flask(__name__)
    limiter = RateLimiter(app, application="100/hour", **storage)

    @app.get("/quota")
    @limiter.limit("3/minute")
    async def quota() -> dict[str, t.Any]:
        return {q.name: [q.limit, q.remaining, round(q.reset)] for q in current_limits()}

    @app.get("/free")
    @limiter.exempt
    def free() -> dict[str, t.Any]:
        return {"limits": list(current_limits())}

    @app.errorhandler(RateLimitExceeded)
    def refused(error: RateLimitExceeded) -> tuple[dict[str, t.Any], int]:
        waits = {q.name: round(q.retry_after) for q in current_limits() if q.retry_after}
        return {"waits": waits}, 429

    return app


def test_the_view_sees_each_limit_after_this_request(storage: dict[str, str]) -> None:
    client = quota_app(storage).test_client()
    first = client.get("/quota").get_json()
    assert first["quota/3-60"][:2] == ["3 per 1 minute", 2]
    assert first["app/100-3600"][:2] == ["100 per 1 hour", 99]
    assert 0 < first["quota/3-60"][2] <= 20
    assert client.get("/quota").get_json()["quota/3-60"][1] == 1


def test_an_error_handler_sees_the_refusal(storage: dict[str, str]) -> None:
    client = quota_app(storage).test_client()
    for _ in range(3):
        client.get("/quota")
    refused = client.get("/quota")
    assert refused.status_code == 429
    assert list(refused.get_json()["waits"]) == ["quota/3-60"]


def test_empty_outside_limited_requests() -> None:
    app = quota_app({})
    assert current_limits() == ()
    with app.app_context():
        assert current_limits() == ()
    assert app.test_client().get("/free").get_json() == {"limits": []}


def test_a_quota_is_a_named_tuple() -> None:
    app = quota_app({})
    with app.test_request_context("/quota"):
        app.preprocess_request()
        [route, application] = current_limits()
    assert isinstance(route, Quota)
    assert (route.name, route.amount, route.period, route.retry_after) == ("quota/3-60", 3, 60, 0)
    assert application.limit == "100 per 1 hour"
