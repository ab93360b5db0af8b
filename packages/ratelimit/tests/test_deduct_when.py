"""``deduct_when``: only the requests whose response it accepts are counted, after the
view; a limit without room still refuses before the view runs. In memory and in Redis."""

from __future__ import annotations

import asyncio
import logging
import re
import typing as t

import pytest
from flask import Flask, request

from flask_plug.ratelimit import RateLimiter

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.wrappers import Response


def failed(response: Response) -> bool:
    return response.status_code >= 400


def login_app(storage: dict[str, str], **options: t.Any) -> Flask:
    """``/login`` counts failed logins only (3 an hour), every request too (100 a minute)."""
    app = Flask(__name__)
    limiter = RateLimiter(app, **storage, **options)
    views = []

    @app.post("/login")
    @limiter.limit("3/hour", deduct_when=failed)
    @limiter.limit("100/minute")
    def login() -> tuple[str, int]:
        views.append(1)
        if request.form.get("password") == "right":
            return "welcome", 200
        return "wrong password", 401

    @app.post("/async-login")
    @limiter.limit("2/hour", deduct_when=failed)
    async def async_login() -> tuple[str, int]:
        await asyncio.sleep(0)
        return ("welcome", 200) if request.form.get("password") == "right" else ("no", 401)

    app.config["views"] = views
    return app


def post(client: FlaskClient, path: str, password: str) -> Response:
    return client.post(path, data={"password": password})


def state(response: Response) -> dict[str, int]:
    """``{"policy name": remaining}`` from the ``RateLimit`` header."""
    return {
        name: int(remaining)
        for name, remaining in re.findall(r'"([^"]+)";r=(\d+)', response.headers["RateLimit"])
    }


def test_only_responses_it_accepts_are_counted(storage: dict[str, str]) -> None:
    app = login_app(storage)
    client = app.test_client()
    for _ in range(5):
        assert post(client, "/login", "right").status_code == 200
    codes = [post(client, "/login", "wrong").status_code for _ in range(3)]
    assert codes == [401, 401, 401]
    # No room left: refused before the view runs, even with the right password.
    views_before = len(app.config["views"])
    refused = post(client, "/login", "right")
    assert refused.status_code == 429
    assert len(app.config["views"]) == views_before
    assert "Retry-After" in refused.headers
    assert state(refused)["login/3-3600"] == 0


def test_headers_report_the_state_after_the_response(storage: dict[str, str]) -> None:
    client = login_app(storage).test_client()
    ok = post(client, "/login", "right")
    assert state(ok) == {"login/3-3600": 3, "login/100-60": 99}  # not counted
    wrong = post(client, "/login", "wrong")
    assert state(wrong) == {"login/3-3600": 2, "login/100-60": 98}  # counted after the view
    policy = wrong.headers["RateLimit-Policy"]
    assert policy == '"login/100-60";q=100;w=60, "login/3-3600";q=3;w=3600'


def test_a_response_not_counted_reports_the_time_as_it_stands(storage: dict[str, str]) -> None:
    """``t`` as well as ``r``: the seconds until the full quota are not moved on by a
    charge that did not happen."""
    client = login_app(storage).test_client()

    def failed_logins_reset(response: Response) -> int:
        [reset] = re.findall(r'"login/3-3600";r=\d+;t=(\d+)', response.headers["RateLimit"])
        return int(reset)

    assert failed_logins_reset(post(client, "/login", "right")) == 0  # a full quota
    counted = failed_logins_reset(post(client, "/login", "wrong"))
    assert counted > 0
    assert 0 < failed_logins_reset(post(client, "/login", "right")) <= counted


def test_a_refused_request_is_charged_to_no_limit(storage: dict[str, str]) -> None:
    client = login_app(storage).test_client()
    for _ in range(3):
        post(client, "/login", "wrong")
    for _ in range(4):
        assert post(client, "/login", "wrong").status_code == 429
    # The refused requests did not reach the other limit either.
    assert state(post(client, "/login", "wrong"))["login/100-60"] == 97


def test_async_views(storage: dict[str, str]) -> None:
    client = login_app(storage).test_client()
    codes = [post(client, "/async-login", p).status_code for p in ["right", "no", "no", "right"]]
    assert codes == [200, 401, 401, 429]


def test_default_deduct_when_and_cost(storage: dict[str, str]) -> None:
    app = Flask(__name__)
    RateLimiter(app, default="4/hour", default_deduct_when=failed, default_cost=2, **storage)

    @app.get("/page/<int:number>")
    def page(number: int) -> tuple[str, int]:
        return "page", 200 if number < 10 else 404

    client = app.test_client()
    codes = [client.get(f"/page/{n}").status_code for n in (1, 2, 3, 99, 4, 98, 5)]
    assert codes == [200, 200, 200, 404, 200, 404, 429]
    # The 404s of a path no route matches count too: they are answered by the default.
    assert state(client.get("/nowhere"))["default/4-3600"] == 2


def test_config_key_and_exempt_when_for_the_default(storage: dict[str, str]) -> None:
    app = Flask(__name__)
    app.config.update(
        RATELIMIT_DEFAULT="1/hour",
        RATELIMIT_DEFAULT_DEDUCT_WHEN=failed,
        RATELIMIT_DEFAULT_EXEMPT_WHEN=lambda: request.args.get("staff") == "1",
    )
    RateLimiter(app, **storage)
    app.add_url_rule("/a", "a", lambda: ("no", 403))
    client = app.test_client()
    assert [client.get("/a?staff=1").status_code for _ in range(3)] == [403] * 3
    assert [client.get("/a").status_code for _ in range(2)] == [403, 429]


def test_a_failing_deduct_when_counts_nothing_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)

    def broken(response: Response) -> bool:
        raise LookupError("no such status")

    app.add_url_rule("/", "x", limiter.limit("1/hour", deduct_when=broken)(lambda: "ok"))
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        assert [client.get("/").status_code for _ in range(3)] == [200] * 3
    logged = [r for r in caplog.records if "deduct_when function" in r.getMessage()]
    assert len(logged) == 1
    assert "broken raised LookupError" in logged[0].getMessage()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"deduct_when": "yes"}, "limit('1/s'): deduct_when must be a function"),
        ({"on_breach": 429}, "limit('1/s'): on_breach must be a function"),
    ],
)
def test_bad_callbacks_fail_at_decoration(options: dict[str, t.Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        RateLimiter().limit("1/s", **options)


def test_an_async_deduct_when_fails_at_decoration() -> None:
    async def failed_later(response: Response) -> bool:
        return True

    with pytest.raises(ValueError, match="deduct_when must be a plain function, not async"):
        RateLimiter().limit("1/s", deduct_when=failed_later)
