"""Limits a function gives per request (``limit(function)``, ``shared_limit(function)``,
``default=function``): the headers follow the limits applied; a bad value never answers
500, gives no limit, and is logged once."""

from __future__ import annotations

import asyncio
import logging
import typing as t

import pytest
from flask import Flask, request

from flask_plug.ratelimit import RateLimiter

PLANS = {"free": "2/minute", "pro": "5/minute; 100/day", "unlimited": None}


def plan_limits() -> str | None:
    """The limits of the caller's plan, from a header standing in for a user lookup."""
    return PLANS[request.headers.get("X-Plan", "free")]


def plan_app(storage: dict[str, str], **options: t.Any) -> Flask:
    app = Flask(__name__)
    limiter = RateLimiter(app, **storage, **options)

    @app.get("/api")
    @limiter.limit(plan_limits)
    def api() -> str:
        return "api"

    @app.get("/async")
    @limiter.limit(plan_limits)
    async def api_async() -> str:
        await asyncio.sleep(0)
        return "async"

    @app.get("/search")
    @limiter.shared_limit(plan_limits, scope="search")
    def search() -> str:
        return "search"

    @app.get("/search/advanced")
    @limiter.shared_limit(plan_limits, scope="search")
    def advanced() -> str:
        return "advanced"

    return app


def codes(client: t.Any, path: str, n: int, plan: str) -> list[int]:
    return [client.get(path, headers={"X-Plan": plan}).status_code for _ in range(n)]


def test_each_request_gets_the_limits_its_function_returns(storage: dict[str, str]) -> None:
    client = plan_app(storage).test_client()
    free = {"REMOTE_ADDR": "192.0.2.1"}
    pro = {"REMOTE_ADDR": "192.0.2.2"}
    assert [client.get("/api", environ_base=free).status_code for _ in range(3)] == [200, 200, 429]
    answers = [client.get("/api", headers={"X-Plan": "pro"}, environ_base=pro) for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert answers[0].headers["RateLimit-Policy"] == (
        '"api/5-60";q=5;w=60, "api/100-86400";q=100;w=86400'
    )
    assert answers[0].headers["RateLimit"].startswith('"api/5-60";r=4;')


def test_none_means_no_limit(storage: dict[str, str]) -> None:
    client = plan_app(storage).test_client()
    response = client.get("/api", headers={"X-Plan": "unlimited"})
    assert "RateLimit" not in response.headers
    assert codes(client, "/api", 10, "unlimited") == [200] * 10


def test_async_view_and_shared_scope(storage: dict[str, str]) -> None:
    client = plan_app(storage).test_client()
    answers = [client.get("/async") for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert answers[0].get_data(as_text=True) == "async"
    statuses = [client.get(p).status_code for p in ("/search", "/search/advanced", "/search")]
    assert statuses == [200, 200, 429]
    assert client.get("/search").headers["RateLimit-Policy"] == '"search/2-60";q=2;w=60'


def test_a_dynamic_default(storage: dict[str, str]) -> None:
    app = Flask(__name__)
    RateLimiter(app, default=plan_limits, **storage)
    app.add_url_rule("/a", "a", lambda: "a")
    client = app.test_client()
    assert codes(client, "/a", 3, "free") == [200, 200, 429]
    assert (
        client.get("/a", headers={"X-Plan": "pro"})
        .headers["RateLimit-Policy"]
        .startswith('"default/5-60";q=5;w=60')
    )


@pytest.mark.parametrize(
    ("returned", "problem"),
    [
        ("ten per minute", "'ten per minute' is not a limit"),
        (10, "returned 10, not a string"),
        (ZeroDivisionError, "raised ZeroDivisionError"),
    ],
)
def test_a_bad_value_gives_no_limit_and_is_logged_once(
    caplog: pytest.LogCaptureFixture, returned: object, problem: str
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)

    def limits() -> t.Any:
        if request.args.get("good"):
            return "1/minute"
        if returned is ZeroDivisionError:
            return 1 / 0
        return returned

    @app.get("/")
    @limiter.limit(limits)
    @limiter.limit("3/minute")
    def index() -> str:
        return "ok"

    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        responses = [client.get("/") for _ in range(4)]
    # The other limit still counts; the bad one gives none.
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert responses[0].headers["RateLimit-Policy"] == '"index/3-60";q=3;w=60'
    logged = [r.getMessage() for r in caplog.records if "limit function" in r.getMessage()]
    assert len(logged) == 1, logged
    assert problem in logged[0]
    assert "test_a_bad_value_gives_no_limit_and_is_logged_once.<locals>.limits" in logged[0]
    assert logged[0].endswith("(logged once)")


def test_parsed_limits_are_kept_per_text_and_bounded() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)

    @app.get("/n/<int:n>")
    @limiter.limit(lambda: f"{request.view_args['n'] if request.view_args else 1}/minute")
    def numbered(n: int) -> str:
        return "ok"

    client = app.test_client()
    for n in range(1, 400):
        client.get(f"/n/{n}")
    client.get("/n/1")
    state = app.extensions["flask-plug-ratelimit"]
    [plan] = [plan for plan in state._plans.values() if plan is not None]
    assert 0 < len(plan.resolved) <= 256
    assert client.get("/n/7").headers["RateLimit-Policy"] == '"numbered/7-60";q=7;w=60'


def test_limits_for_show_and_metadata_name_the_function() -> None:
    app = plan_app({})
    state = app.extensions["flask-plug-ratelimit"]
    assert state.limits_for("api", "GET") == ("set per request by plan_limits",)
    shown = app.test_cli_runner().invoke(args=["ratelimit", "show"]).output
    assert "set per request by plan_limits [search]" in shown
    metadata = app.view_functions["api"].__flask_plug__["ratelimit"]
    assert metadata["limits"] == ["set per request by plan_limits"]


def test_bad_limits_argument_fails_at_decoration() -> None:
    with pytest.raises(ValueError, match=r"limit\(42\): limits must be a string"):
        RateLimiter().limit(42)  # type: ignore[arg-type]

    async def limits() -> str:
        return "1/s"

    with pytest.raises(ValueError, match="not async"):
        RateLimiter().shared_limit(limits, scope="x")


@pytest.mark.parametrize("key", ["RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION"])
def test_bad_dynamic_config_fails_at_init_app(key: str) -> None:
    async def limits() -> str:
        return "1/s"

    app = Flask(__name__)
    app.config[key] = limits
    with pytest.raises(ValueError, match=f"{key} must be a plain function, not async"):
        RateLimiter(app)


def test_texts_a_client_controls_grow_nothing_without_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # An app that (unwisely) takes the limit from a header: what clients send must not
    # grow the plans or the log without bound, nor answer 500.
    app = Flask(__name__)
    limiter = RateLimiter(app)
    app.add_url_rule("/", "x", limiter.limit(lambda: request.headers.get("X-Limit"))(lambda: "ok"))
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        for n in range(1500):
            value = f"{n % 50 + 1}/minute" if n % 2 else f"junk {n}"
            assert client.get("/", headers={"X-Limit": value}).status_code in (200, 429)
    state = app.extensions["flask-plug-ratelimit"]
    [plan] = [plan for plan in state._plans.values() if plan is not None]
    assert len(plan.resolved) <= 256
    assert len(state._log_once._seen) <= 1024
    [logged] = caplog.records  # the first bad text only
    assert "'junk 0' is not a limit" in logged.getMessage()
