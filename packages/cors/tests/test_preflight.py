from __future__ import annotations

import typing as t
from datetime import timedelta

import pytest
from flask import Flask

from flask_plug.cors import CORS, cross_origin

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

FRONTEND = "https://app.example.com"
CORS_HEADERS = (
    "Access-Control-Allow-Origin",
    "Access-Control-Allow-Methods",
    "Access-Control-Allow-Headers",
    "Access-Control-Allow-Credentials",
)


def assert_refused(response: t.Any, reason: str) -> None:
    assert response.status_code == 403
    assert not [h for h in CORS_HEADERS if h in response.headers]
    assert reason in response.get_data(as_text=True)
    assert response.headers["Vary"].startswith("Origin, Access-Control-Request-Method")


def test_allowed_preflight_gets_204_with_the_route_methods(
    client: FlaskClient, send_preflight: t.Any
) -> None:
    response = send_preflight(client, "/items", "PUT")
    assert response.status_code == 204
    assert response.data == b""
    assert "Content-Type" not in response.headers
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD, PUT"
    assert response.headers["Vary"] == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )


def test_preflight_to_unknown_path_gets_204(client: FlaskClient, send_preflight: t.Any) -> None:
    response = send_preflight(client, "/nowhere", "DELETE")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_preflight_to_a_route_that_would_redirect_gets_204(
    client: FlaskClient, send_preflight: t.Any
) -> None:
    # /items/ only accepts POST at its canonical URL; /items would redirect there.
    response = send_preflight(client, "/items", "POST", access_control_request_headers="x-a")
    assert response.status_code == 204


def test_preflight_is_answered_before_other_before_request_hooks(
    app: Flask, send_preflight: t.Any
) -> None:
    @app.before_request
    def require_login() -> tuple[str, int]:
        return "log in first", 401

    response = send_preflight(app.test_client(), "/items", "PUT")
    assert response.status_code == 204


def test_method_not_allowed_is_refused(client: FlaskClient, send_preflight: t.Any) -> None:
    assert_refused(send_preflight(client, "/items", "DELETE"), "method DELETE not allowed")


def test_methods_are_compared_whole_not_as_substrings(
    client: FlaskClient, send_preflight: t.Any
) -> None:
    for method in ("GE", "UT", "GETX", "PUT,DELETE"):
        response = send_preflight(client, "/items", method)
        assert response.status_code == 403, method


def test_configured_methods_narrow_the_route_methods(new_app: t.Any, send_preflight: t.Any) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_METHODS=["get", "patch"])
    CORS(app)
    client = app.test_client()
    response = send_preflight(client, "/items", "GET", access_control_request_headers="x-a")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Methods"] == "GET"
    assert_refused(send_preflight(client, "/items", "PUT"), "method PUT not allowed")


def test_only_methods_of_the_same_view_are_listed(app: Flask, send_preflight: t.Any) -> None:
    @app.delete("/items")
    @cross_origin(origins=[])
    def delete_items() -> str:
        return "deleted"

    # Browsers cache a preflight per listed method: DELETE must not ride along with PUT.
    response = send_preflight(app.test_client(), "/items", "PUT")
    assert response.headers["Access-Control-Allow-Methods"] == "GET, HEAD, PUT"


def test_lower_case_custom_method_is_echoed_for_the_browsers_exact_comparison(
    app: Flask, send_preflight: t.Any
) -> None:
    app.route("/patchable", methods=["PATCH"])(lambda: "ok")
    response = send_preflight(app.test_client(), "/patchable", "patch")
    assert response.headers["Access-Control-Allow-Methods"] == "PATCH, patch"


def test_origin_not_allowed_is_refused(client: FlaskClient, send_preflight: t.Any) -> None:
    response = send_preflight(client, "/items", "PUT", origin="https://evil.example.net")
    assert_refused(response, "origin not allowed")


def test_requested_headers_are_allowed_case_insensitively(
    new_app: t.Any, send_preflight: t.Any
) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_ALLOW_HEADERS=["Content-Type", "X-Token"])
    CORS(app)
    client = app.test_client()
    response = send_preflight(
        client, "/items", "PUT", access_control_request_headers="content-type,X-TOKEN"
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Headers"] == "content-type, x-token"
    refused = send_preflight(client, "/items", "PUT", access_control_request_headers="x-other")
    assert_refused(refused, "header x-other not allowed")


def test_star_allows_any_header_but_authorization(
    client: FlaskClient, send_preflight: t.Any
) -> None:
    response = send_preflight(
        client, "/items", "PUT", access_control_request_headers="x-anything, content-type"
    )
    assert response.headers["Access-Control-Allow-Headers"] == "x-anything, content-type"
    refused = send_preflight(
        client, "/items", "PUT", access_control_request_headers="Authorization"
    )
    assert_refused(refused, "authorization must be listed")


def test_authorization_when_listed(new_app: t.Any, send_preflight: t.Any) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_ALLOW_HEADERS=["authorization"])
    CORS(app)
    response = send_preflight(
        app.test_client(), "/items", "PUT", access_control_request_headers="Authorization"
    )
    assert response.headers["Access-Control-Allow-Headers"] == "authorization"


@pytest.mark.parametrize("value", ["x a", "x-a;", 'x-"a"', "x-a,,x-b ,", "é"])
def test_malformed_request_headers(client: FlaskClient, send_preflight: t.Any, value: str) -> None:
    response = send_preflight(client, "/items", "PUT", access_control_request_headers=value)
    if value == "x-a,,x-b ,":  # empty list elements are allowed by the list syntax
        assert response.headers["Access-Control-Allow-Headers"] == "x-a, x-b"
    else:
        assert_refused(response, "malformed Access-Control-Request-Headers")


def test_malformed_request_method(client: FlaskClient, send_preflight: t.Any) -> None:
    assert_refused(send_preflight(client, "/items", "P UT"), "malformed")


@pytest.mark.parametrize(("max_age", "header"), [(600, "600"), (timedelta(hours=1), "3600")])
def test_max_age(new_app: t.Any, send_preflight: t.Any, max_age: t.Any, header: str) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_MAX_AGE=max_age)
    CORS(app)
    response = send_preflight(app.test_client(), "/items", "PUT")
    assert response.headers["Access-Control-Max-Age"] == header


def test_no_max_age_by_default(client: FlaskClient, send_preflight: t.Any) -> None:
    assert "Access-Control-Max-Age" not in send_preflight(client, "/items", "PUT").headers


def test_credentials_on_preflight(new_app: t.Any, send_preflight: t.Any) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_ALLOW_CREDENTIALS=True)
    CORS(app)
    response = send_preflight(app.test_client(), "/items", "PUT")
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_star_preflight_answers_star(new_app: t.Any, send_preflight: t.Any) -> None:
    app = new_app(CORS_ORIGINS="*")
    CORS(app)
    response = send_preflight(app.test_client(), "/items", "PUT", origin="https://x.test")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_private_network_only_when_enabled_and_asked(
    new_app: t.Any, client: FlaskClient, send_preflight: t.Any
) -> None:
    refused = send_preflight(client, "/items", "PUT", access_control_request_private_network="true")
    assert_refused(refused, "private network access not allowed")

    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_ALLOW_PRIVATE_NETWORK=True)
    CORS(app)
    enabled = app.test_client()
    asked = send_preflight(enabled, "/items", "PUT", access_control_request_private_network="true")
    assert asked.headers["Access-Control-Allow-Private-Network"] == "true"
    assert asked.headers["Vary"].endswith("Access-Control-Request-Private-Network")
    not_asked = send_preflight(enabled, "/items", "PUT")
    assert "Access-Control-Allow-Private-Network" not in not_asked.headers


def test_plain_options_is_left_to_flask(client: FlaskClient) -> None:
    response = client.options("/items", headers={"Origin": FRONTEND})
    assert response.status_code == 200
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "PUT"}
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_options_without_origin_is_left_to_flask(client: FlaskClient) -> None:
    response = client.options(
        "/items", environ_overrides={"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}
    )
    assert response.status_code == 200
    assert "Access-Control-Allow-Methods" not in response.headers


def test_preflight_to_a_slash_redirect_is_answered_not_redirected(
    app: Flask, send_preflight: t.Any
) -> None:
    @app.put("/folder/")
    def folder() -> str:
        return "ok"

    client = app.test_client()
    assert client.put("/folder").status_code == 308
    response = send_preflight(client, "/folder", "PUT")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND


def test_star_with_authorization_listed_allows_it(new_app: t.Any, send_preflight: t.Any) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_ALLOW_HEADERS=["*", "Authorization"])
    CORS(app)
    response = send_preflight(
        app.test_client(), "/items", "PUT", access_control_request_headers="authorization, x-a"
    )
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, x-a"


@pytest.mark.parametrize("method", ["", "P UT"])
def test_malformed_method_where_cors_is_off_is_left_to_the_app(
    send_preflight: t.Any, method: str
) -> None:
    app = Flask(__name__)
    CORS(app, resources={"/api/*": {"origins": [FRONTEND]}})
    app.get("/z")(lambda: "ok")
    response = send_preflight(app.test_client(), "/z", method)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_preflight_skips_the_apps_request_hooks_and_errors_reach_its_handlers(
    app: Flask, send_preflight: t.Any
) -> None:
    from flask import g

    @app.before_request
    def load_user() -> None:
        g.user = "someone"

    @app.after_request
    def use_user(response: t.Any) -> t.Any:
        response.headers["X-User"] = g.user  # would fail if it ran without load_user
        return response

    response = send_preflight(app.test_client(), "/items", "PUT")
    assert response.status_code == 204
    assert "X-User" not in response.headers


def test_refusals_vary_on_private_network_when_enabled(
    new_app: t.Any, send_preflight: t.Any
) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_ALLOW_PRIVATE_NETWORK=True)
    CORS(app)
    response = send_preflight(app.test_client(), "/items", "DELETE")
    assert response.status_code == 403
    assert response.headers["Vary"] == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers,"
        " Access-Control-Request-Private-Network, Accept"
    )
