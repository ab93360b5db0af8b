from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask

from flask_plug.cors import CORS, cross_origin

FRONTEND = "https://app.example.com"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"CORS_ORIGINS": "https://*.example"},
            "CORS_ORIGINS: 'https://*.example' is not an origin",
        ),
        ({"CORS_ORIGINS": "example.com"}, "CORS_ORIGINS: 'example.com' is not an origin"),
        ({"CORS_ORIGINS": 5}, "CORS_ORIGINS must be '*', an origin, a re.Pattern"),
        (
            {"CORS_METHODS": ["GET", "BAD METHOD"]},
            "CORS_METHODS: 'BAD METHOD' is not a method",
        ),
        ({"CORS_ALLOW_HEADERS": ["x-ok", "x bad"]}, "CORS_ALLOW_HEADERS: 'x bad'"),
        ({"CORS_ALLOW_CREDENTIALS": "yes"}, "CORS_ALLOW_CREDENTIALS must be True or False"),
        ({"CORS_MAX_AGE": -1}, "CORS_MAX_AGE must be a number of seconds >= 0"),
        ({"CORS_MAX_AGE": "600"}, "CORS_MAX_AGE must be a number of seconds"),
        ({"CORS_ALLOW_PRIVATE_NETWORK": 1}, "CORS_ALLOW_PRIVATE_NETWORK must be True or False"),
        ({"CORS_RESOURCES": {"api/*": {}}}, "CORS_RESOURCES: 'api/*' is not a path pattern"),
        ({"CORS_RESOURCES": {"/a*b": {}}}, "'*' is only allowed as a final '/*'"),
        ({"CORS_RESOURCES": {"/a/*": {"origins": "x"}}}, "CORS_RESOURCES['/a/*']['origins']: 'x'"),
        ({"CORS_RESOURCES": "/api/*"}, "CORS_RESOURCES must map path patterns"),
    ],
)
def test_bad_config_fails_at_init_app_naming_the_key(
    config: dict[str, t.Any], message: str
) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ValueError, match=re.escape(message)):
        CORS(app)


def test_unknown_option_in_a_path_rule_is_a_type_error() -> None:
    app = Flask(__name__)
    app.config.update(CORS_RESOURCES={"/a/*": {"origin": "*"}})
    with pytest.raises(TypeError, match=re.escape("unknown CORS option(s): origin")):
        CORS(app)


def test_unknown_keyword_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=re.escape("unknown CORS option(s): origin")):
        CORS(Flask(__name__), origin="*")  # type: ignore[call-arg]


def test_credentials_with_star_raise_at_start_up() -> None:
    app = Flask(__name__)
    app.config.update(CORS_ORIGINS="*", CORS_ALLOW_CREDENTIALS=True)
    with pytest.raises(ValueError, match="CORS_ALLOW_CREDENTIALS with CORS_ORIGINS = '\\*'"):
        CORS(app)


def test_credentials_with_star_raise_across_scopes_for_known_views() -> None:
    app = Flask(__name__)

    @app.get("/x")
    @cross_origin(allow_credentials=True)
    def x() -> str:
        return "ok"

    with pytest.raises(ValueError, match="as merged for view 'x'"):
        CORS(app, origins="*")


def test_credentials_with_star_raise_at_decoration() -> None:
    with pytest.raises(ValueError, match=re.escape("cross_origin(allow_credentials=...)")):
        cross_origin(origins="*", allow_credentials=True)


def test_expose_star_with_credentials_raises() -> None:
    with pytest.raises(ValueError, match="CORS_EXPOSE_HEADERS = '\\*' with"):
        CORS(
            Flask(__name__),
            origins=[FRONTEND],
            allow_credentials=True,
            expose_headers="*",
        )


def test_keyword_beats_config_beats_default() -> None:
    app = Flask(__name__)
    app.config.update(CORS_ORIGINS=["https://config.example"], CORS_MAX_AGE=10)
    app.get("/")(lambda: "ok")
    CORS(app, origins=[FRONTEND])
    client = app.test_client()
    response = client.get("/", headers={"Origin": FRONTEND})
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    preflight = client.options(
        "/",
        environ_overrides={"HTTP_ORIGIN": FRONTEND, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"},
    )
    assert preflight.headers["Access-Control-Max-Age"] == "10"


def test_one_extension_serves_several_apps() -> None:
    cors = CORS(max_age=5)
    first, second = Flask("first"), Flask("second")
    for app in (first, second):
        app.get("/")(lambda: "ok")
    cors.init_app(first, origins=["https://first.example"])
    cors.init_app(second, origins=["https://second.example"])
    assert (
        first.test_client()
        .get("/", headers={"Origin": "https://first.example"})
        .headers["Access-Control-Allow-Origin"]
        == "https://first.example"
    )
    response = second.test_client().get("/", headers={"Origin": "https://first.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_init_app_twice_is_an_error() -> None:
    app = Flask(__name__)
    cors = CORS(app)
    with pytest.raises(RuntimeError, match="already registered on this app"):
        cors.init_app(app)


def test_bad_blueprint_options_raise_naming_the_call() -> None:
    from flask import Blueprint

    with pytest.raises(ValueError, match=re.escape("configure_blueprint(max_age=...)")):
        CORS().configure_blueprint(Blueprint("bp", __name__), max_age="soon")


def test_view_added_later_with_bad_rules_fails_closed_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Flask(__name__)
    CORS(app, origins="*")

    @app.get("/late")
    @cross_origin(allow_credentials=True)
    def late() -> str:
        return "ok"

    client = app.test_client()
    for _ in range(2):
        response = client.get("/late", headers={"Origin": FRONTEND})
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response.headers
    [record] = [r for r in caplog.records if "CORS is off for 'late'" in r.getMessage()]
    assert "allow_credentials" in record.getMessage()
