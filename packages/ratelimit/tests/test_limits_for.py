"""``limits_for``: the limits of an (endpoint, method), as flask-plug-apidocs documents them."""

from __future__ import annotations

import pytest
from flask import Blueprint, Flask

from flask_plug.ratelimit import RateLimiter


@pytest.fixture
def app() -> Flask:
    app = Flask(__name__)
    limiter = RateLimiter(app, default="100/hour")

    @app.route("/own", methods=["GET", "POST", "PUT"])
    @limiter.limit("10/minute")
    @limiter.limit("2/second", methods=["post"])
    @limiter.shared_limit("1000/day", scope="everything")
    def own() -> str:
        return "ok"

    @app.get("/default")
    def default() -> str:
        return "ok"

    @app.get("/exempt")
    @limiter.exempt
    def exempt() -> str:
        return "ok"

    @app.route("/writes", methods=["GET", "POST", "PURGE"])
    @limiter.limit("5/minute", methods=["POST", "PURGE"])
    def writes() -> str:
        return "ok"

    outer = Blueprint("outer", __name__)
    inner = Blueprint("inner", __name__)
    free = Blueprint("free", __name__)
    inner.add_url_rule("/inner", "view", lambda: "ok")
    outer.add_url_rule("/outer", "view", lambda: "ok")
    free.add_url_rule("/free", "view", lambda: "ok")
    limiter.limit("20/minute")(inner)
    limiter.limit("30/minute")(outer)
    limiter.limit("30/minute")(outer)  # equal specs count once
    limiter.exempt(free)
    outer.register_blueprint(inner)
    outer.register_blueprint(free)
    app.register_blueprint(outer)
    return app


@pytest.mark.parametrize(
    ("endpoint", "method", "limits"),
    [
        ("own", "GET", ("1000 per 1 day", "10 per 1 minute")),
        ("own", "POST", ("1000 per 1 day", "2 per 1 second", "10 per 1 minute")),
        ("own", "post", ("1000 per 1 day", "2 per 1 second", "10 per 1 minute")),
        ("own", "HEAD", ("1000 per 1 day", "10 per 1 minute")),
        ("own", "OPTIONS", ()),
        ("default", "GET", ("100 per 1 hour",)),
        ("default", "HEAD", ("100 per 1 hour",)),
        ("exempt", "GET", ()),
        # The view's own limits replace the default, even for methods they leave out.
        ("writes", "GET", ()),
        ("writes", "POST", ("5 per 1 minute",)),
        ("writes", "PURGE", ("5 per 1 minute",)),
        ("outer.inner.view", "GET", ("20 per 1 minute",)),
        ("outer.view", "GET", ("30 per 1 minute",)),
        ("outer.free.view", "GET", ()),
        ("no-such-endpoint", "GET", ("100 per 1 hour",)),
    ],
)
def test_limits_for_follows_the_request_rules_without_an_app_context(
    app: Flask, endpoint: str, method: str, limits: tuple[str, ...]
) -> None:
    assert app.extensions["flask-plug-ratelimit"].limits_for(endpoint, method) == limits


def test_limits_for_agrees_with_the_limits_requests_are_counted_by(app: Flask) -> None:
    state = app.extensions["flask-plug-ratelimit"]
    for rule in app.url_map.iter_rules():
        for method in rule.methods or ():
            with app.app_context():
                plan = state.plan_for(rule.endpoint, method)
            counted = () if plan is None else tuple(limit.text for limit in plan.limits)
            assert state.limits_for(rule.endpoint, method) == counted


def test_limits_for_sees_limits_added_after_it_was_asked(app: Flask) -> None:
    state = app.extensions["flask-plug-ratelimit"]
    assert state.limits_for("default", "GET") == ("100 per 1 hour",)
    RateLimiter().limit("1/second")(app.view_functions["default"])
    assert state.limits_for("default", "GET") == ("1 per 1 second",)


def test_limits_for_with_exempt_get_and_no_default() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, exempt_methods=["GET"])
    app.add_url_rule("/", "index", limiter.limit("1/minute")(lambda: "ok"), methods=["GET", "POST"])
    app.add_url_rule("/bare", "bare", lambda: "ok")
    state = app.extensions["flask-plug-ratelimit"]
    assert state.limits_for("index", "GET") == ()
    assert state.limits_for("index", "HEAD") == ()
    assert state.limits_for("index", "POST") == ("1 per 1 minute",)
    assert state.limits_for("bare", "GET") == ()
