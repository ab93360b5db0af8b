"""Application-wide limits (one count per client over every route, on top of the route's
own limits) and request filters (which exempt a request from every limit)."""

from __future__ import annotations

import asyncio
import logging
import typing as t

import pytest
from flask import Blueprint, Flask, request

from flask_plug.ratelimit import RateLimiter

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def site(storage: dict[str, str], **options: t.Any) -> tuple[Flask, RateLimiter]:
    app = Flask(__name__)
    limiter = RateLimiter(app, application="5/hour", default="100/hour", **storage, **options)

    @app.get("/a")
    def a() -> str:
        return "a"

    @app.get("/b")
    @limiter.limit("3/hour")
    async def b() -> str:
        await asyncio.sleep(0)
        return "b"

    @app.get("/health")
    @limiter.exempt
    def health() -> str:
        return "ok"

    @app.post("/upload")
    @limiter.limit("10/hour", methods=["POST"])
    def upload() -> str:
        return "stored"

    return app, limiter


def codes(client: FlaskClient, *paths: str) -> list[int]:
    return [client.open(path, method="POST" if path == "/upload" else "GET").status_code
            for path in paths]  # fmt: skip


def test_one_count_per_client_across_routes(storage: dict[str, str]) -> None:
    app, _ = site(storage)
    client = app.test_client()
    assert codes(client, "/a", "/b", "/upload", "/a", "/b", "/a") == [200] * 5 + [429]
    other = app.test_client()
    assert other.get("/a", environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 200


def test_headers_name_it_app(storage: dict[str, str]) -> None:
    app, _ = site(storage)
    response = app.test_client().get("/b")
    assert response.headers["RateLimit-Policy"] == (
        '"b/3-3600";q=3;w=3600, "app/5-3600";q=5;w=3600'
    )
    assert response.headers["RateLimit"].split(", ")[1].startswith('"app/5-3600";r=4;')


def test_route_limits_still_apply(storage: dict[str, str]) -> None:
    app, _ = site(storage)
    client = app.test_client()
    assert codes(client, "/b", "/b", "/b", "/b") == [200, 200, 200, 429]
    assert codes(client, "/a") == [200]  # the refused /b was not charged to the app count


def test_exempt_views_are_not_counted(storage: dict[str, str]) -> None:
    app, _ = site(storage)
    client = app.test_client()
    assert codes(client, *["/health"] * 8) == [200] * 8
    assert "RateLimit" not in client.get("/health").headers
    assert codes(client, *["/a"] * 6) == [200] * 5 + [429]


@pytest.mark.parametrize("endpoint", ["app", "#app", "}#app", "<unmatched>"])
def test_no_route_or_scope_name_shares_the_app_wide_count(
    storage: dict[str, str], endpoint: str
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(
        app,
        application="5/hour",
        application_exempt_when=lambda: request.path == "/odd",
        **storage,
    )
    app.add_url_rule("/odd", endpoint, limiter.limit("5/hour")(lambda: "odd"))
    app.add_url_rule(
        "/shared", "shared", limiter.shared_limit("6/hour", scope=endpoint)(lambda: "s")
    )
    app.add_url_rule("/a", "a", lambda: "a")
    client = app.test_client()
    assert codes(client, *["/odd"] * 6) == [200] * 5 + [429]
    assert codes(client, "/a") == [200]  # the app-wide count is untouched
    assert codes(client, *["/shared"] * 4) == [200] * 4
    assert codes(client, "/a", "/shared") == [429, 429]  # app-wide: 5 used


def test_methods_without_own_limits_get_it_too(storage: dict[str, str]) -> None:
    app, _ = site(storage)
    client = app.test_client()
    # /upload's own limits name POST only: GET gets a 405, counted app-wide all the same.
    assert codes(client, *["/nowhere"] * 5) == [404] * 5
    assert client.get("/upload").status_code == 429


def test_cost_and_exempt_when(storage: dict[str, str]) -> None:
    app, _ = site(
        storage,
        application_cost=lambda: 2 if request.path == "/b" else 1,
        application_exempt_when=lambda: request.headers.get("X-Staff") == "yes",
    )
    client = app.test_client()
    assert codes(client, "/b", "/b", "/a", "/a") == [200, 200, 200, 429]
    assert client.get("/a", headers={"X-Staff": "yes"}).status_code == 200


def test_application_deduct_when(storage: dict[str, str]) -> None:
    app = Flask(__name__)
    app.config["RATELIMIT_APPLICATION"] = "2/hour"
    app.config["RATELIMIT_APPLICATION_DEDUCT_WHEN"] = lambda response: response.status_code == 404
    RateLimiter(app, **storage)
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    assert [client.get(p).status_code for p in ["/", "/", "/x", "/", "/y", "/"]] == [
        200, 200, 404, 200, 404, 429,
    ]  # fmt: skip


def test_counted_options_requests_count_apart() -> None:
    app, _ = site({}, exempt_methods=[])
    client = app.test_client()
    assert [client.options("/a").status_code for _ in range(6)] == [200] * 5 + [429]
    assert codes(client, "/a") == [200]


def test_request_filters_exempt_from_every_limit(storage: dict[str, str]) -> None:
    app, limiter = site(storage)

    @limiter.request_filter
    def from_monitoring() -> bool:
        return request.headers.get("X-Monitor") == "secret"

    client = app.test_client()
    monitor = {"X-Monitor": "secret"}
    for _ in range(8):
        response = client.get("/b", headers=monitor)
        assert response.status_code == 200
        assert "RateLimit" not in response.headers
    assert codes(client, "/b", "/b", "/b", "/b") == [200, 200, 200, 429]


def test_request_filters_see_the_route_and_apply_to_blueprints() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    seen: list[str | None] = []

    @limiter.request_filter
    def internal_blueprint() -> bool:
        seen.append(request.endpoint)
        return request.blueprint == "internal"

    internal = Blueprint("internal", __name__)
    internal.add_url_rule("/jobs", "jobs", lambda: "jobs")
    limiter.limit("1/hour")(internal)
    app.register_blueprint(internal, url_prefix="/internal")
    app.add_url_rule("/free", "free", lambda: "free")  # no limit: the filters do not run
    client = app.test_client()
    assert [client.get("/internal/jobs").status_code for _ in range(3)] == [200] * 3
    client.get("/free")
    assert seen == ["internal.jobs"] * 3


def test_a_failing_request_filter_exempts_nothing_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app, limiter = site({})

    @limiter.request_filter
    def broken() -> bool:
        raise KeyError("X-Monitor")

    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        assert codes(client, *["/a"] * 6) == [200] * 5 + [429]
    logged = [r.getMessage() for r in caplog.records if "request filter" in r.getMessage()]
    assert logged == [
        "flask-plug-ratelimit: the request filter test_a_failing_request_filter_exempts_nothing"
        "_and_is_logged_once.<locals>.broken raised KeyError; it exempts no request while it"
        " does (logged once)"
    ]


def test_an_async_request_filter_fails_where_it_is_registered() -> None:
    limiter = RateLimiter()

    async def is_internal() -> bool:
        return True

    with pytest.raises(ValueError, match="request_filter must be a plain function, not async"):
        limiter.request_filter(is_internal)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"RATELIMIT_APPLICATION": "5/fortnight"}, "RATELIMIT_APPLICATION: '5/fortnight' is"),
        ({"RATELIMIT_APPLICATION": 5}, "RATELIMIT_APPLICATION: expected limits"),
        ({"RATELIMIT_APPLICATION_COST": -1}, "RATELIMIT_APPLICATION_COST must be an int >= 0"),
        ({"RATELIMIT_APPLICATION_COST": True}, "RATELIMIT_APPLICATION_COST must be an int"),
        ({"RATELIMIT_APPLICATION_EXEMPT_WHEN": "yes"}, "RATELIMIT_APPLICATION_EXEMPT_WHEN must"),
        ({"RATELIMIT_APPLICATION_DEDUCT_WHEN": 1}, "RATELIMIT_APPLICATION_DEDUCT_WHEN must be"),
        ({"RATELIMIT_DEFAULT_COST": "2"}, "RATELIMIT_DEFAULT_COST must be an int >= 0"),
        ({"RATELIMIT_DEFAULT_EXEMPT_WHEN": True}, "RATELIMIT_DEFAULT_EXEMPT_WHEN must be a"),
        ({"RATELIMIT_DEFAULT_DEDUCT_WHEN": "x"}, "RATELIMIT_DEFAULT_DEDUCT_WHEN must be a"),
        ({"RATELIMIT_ON_BREACH": "log"}, "RATELIMIT_ON_BREACH must be a function"),
    ],
)
def test_bad_values_fail_at_init_app_naming_the_key(config: dict[str, t.Any], message: str) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        RateLimiter(app)


def test_limits_for_and_show_include_it() -> None:
    app, _ = site({})
    state = app.extensions["flask-plug-ratelimit"]
    assert state.limits_for("b", "GET") == ("3 per 1 hour", "5 per 1 hour")
    assert state.limits_for("health", "GET") == ()
    shown = app.test_cli_runner().invoke(args=["ratelimit", "show"]).output
    assert "3 per 1 hour [b]; 5 per 1 hour [app]" in shown
