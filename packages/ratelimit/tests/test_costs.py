"""Costs: a request that costs more than a limit can ever allow is refused for good, with
nothing charged; a cost function that returns something other than an int >= 0 counts
the request once and is logged, never a 500."""

from __future__ import annotations

import json
import logging
import typing as t

import pytest
from flask import Flask, request

from flask_plug.ratelimit import RateLimiter, RateLimitNeverAllowed

STRATEGIES = ["gcra", "fixed-window", "sliding-window"]


def by_size() -> int:
    return int(request.args.get("n", 1))


def sized_app(strategy: str, limits: str, storage: dict[str, str] | None = None) -> Flask:
    app = Flask(__name__)
    limiter = RateLimiter(app, strategy=strategy, **(storage or {}))

    @app.get("/batch")
    @limiter.limit(limits, cost=by_size)
    @limiter.shared_limit("100/hour", scope="account")
    def batch() -> str:
        return "ok"

    return app


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_cost_above_what_a_limit_ever_allows_is_refused_for_good(
    storage: dict[str, str], strategy: str
) -> None:
    client = sized_app(strategy, "5/minute", storage).test_client()
    response = client.get("/batch?n=6")
    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert "RateLimit" not in response.headers  # the storage was not asked
    assert response.content_type == "application/problem+json"
    body = json.loads(response.data)
    assert body == {
        "type": "https://flask-plug.github.io/flask-plug/ratelimit.html#requests-that-can-never-pass",
        "title": "Request costs more than a rate limit allows",
        "status": 429,
        "detail": "This request costs 6, but the limit 5 per 1 minute allows at most 5 at"
        " once: it can never succeed. Send a smaller request.",
        "limit": "5 per 1 minute",
        "cost": 6,
        "max_cost": 5,
    }
    # Nothing was charged, to that limit or to the other one.
    allowed = client.get("/batch?n=5")
    assert allowed.status_code == 200
    assert '"batch/5-60";r=0;' in allowed.headers["RateLimit"]
    assert '"account/100-3600";r=99;' in allowed.headers["RateLimit"]  # its cost is 1


def test_gcra_allows_costs_up_to_the_burst() -> None:
    client = sized_app("gcra", "5/minute burst 8").test_client()
    assert client.get("/batch?n=9").status_code == 429
    assert client.get("/batch?n=8").status_code == 200


def test_windows_allow_costs_up_to_the_amount() -> None:
    # burst means nothing to the window algorithms: 5 a window is all there is.
    client = sized_app("fixed-window", "5/minute burst 8").test_client()
    assert json.loads(client.get("/batch?n=6").data)["max_cost"] == 5
    assert client.get("/batch?n=5").status_code == 200


def test_the_never_allowed_answer_can_be_handled_by_the_app() -> None:
    app = sized_app("gcra", "5/minute")

    @app.errorhandler(RateLimitNeverAllowed)
    def too_big(error: RateLimitNeverAllowed) -> tuple[dict[str, t.Any], int]:
        return {"split_into": -(-error.cost // error.max_cost), "limit": error.limit}, 413

    response = app.test_client().get("/batch?n=12")
    assert response.status_code == 413
    assert response.json == {"split_into": 3, "limit": "5 per 1 minute"}
    assert "Retry-After" not in response.headers


@pytest.mark.parametrize("bad", [-1, 2.5, "3", None, [1]])
def test_a_cost_function_returning_a_bad_value_counts_the_request_once(
    bad: object, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)

    def broken_cost() -> t.Any:
        return bad

    app.get("/")(limiter.limit("3/minute", cost=broken_cost)(lambda: "ok"))
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        responses = [client.get("/") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert '"<lambda>/3-60";r=2;' in responses[0].headers["RateLimit"]
    [record] = [r for r in caplog.records if "broken_cost" in r.getMessage()]
    assert repr(bad) in record.getMessage()
    assert "counted as 1" in record.getMessage()


def test_a_cost_function_may_return_a_bool(storage: dict[str, str]) -> None:
    # Redis's client refuses bools: the storage gets 1 or 0.
    app = Flask(__name__)
    limiter = RateLimiter(app, **storage)
    is_post = limiter.limit("1/minute", cost=lambda: request.method == "POST")
    app.route("/", methods=["GET", "POST"])(is_post(lambda: "ok"))
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200] * 3
    assert [client.post("/").status_code for _ in range(2)] == [200, 429]
