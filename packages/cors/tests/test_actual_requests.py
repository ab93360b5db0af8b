from __future__ import annotations

import logging
import typing as t

import pytest
from flask import Flask

from flask_plug.cors import CORS

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

FRONTEND = "https://app.example.com"


def test_allowed_origin_is_reflected_exactly(client: FlaskClient) -> None:
    response = client.get("/items", headers={"Origin": FRONTEND})
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_other_origin_gets_no_cors_headers_but_varies(client: FlaskClient) -> None:
    response = client.get("/items", headers={"Origin": "https://evil.example.net"})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_request_without_origin_still_varies(client: FlaskClient) -> None:
    response = client.get("/items")
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["Vary"] == "Origin"


def test_star_without_credentials_sends_star_and_needs_no_vary(new_app: t.Any) -> None:
    app = new_app(CORS_ORIGINS="*")
    CORS(app)
    response = app.test_client().get("/items", headers={"Origin": "https://any.test"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Vary" not in response.headers


def test_credentials_reflect_the_origin_and_say_true(new_app: t.Any) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_ALLOW_CREDENTIALS=True)
    CORS(app)
    response = app.test_client().get("/items", headers={"Origin": FRONTEND})
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


def test_null_origin_is_refused_unless_listed(new_app: t.Any) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND])
    CORS(app)
    response = app.test_client().get("/items", headers={"Origin": "null"})
    assert "Access-Control-Allow-Origin" not in response.headers

    listed = new_app(CORS_ORIGINS=["null"])
    CORS(listed)
    response = listed.test_client().get("/items", headers={"Origin": "null"})
    assert response.headers["Access-Control-Allow-Origin"] == "null"


def test_expose_headers(new_app: t.Any) -> None:
    app = new_app(CORS_ORIGINS=[FRONTEND], CORS_EXPOSE_HEADERS=["X-Total-Count", "ETag"])
    CORS(app)
    response = app.test_client().get("/items", headers={"Origin": FRONTEND})
    assert response.headers["Access-Control-Expose-Headers"] == "x-total-count, etag"


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ("Accept-Encoding", "Accept-Encoding, Origin"),
        ("origin", "origin"),
        ("Cookie, ORIGIN", "Cookie, ORIGIN"),
        ("*", "*"),
    ],
)
def test_vary_is_merged_without_duplicates(existing: str, expected: str) -> None:
    app = Flask(__name__)
    CORS(app, origins=[FRONTEND])

    @app.get("/varied")
    def varied() -> tuple[str, dict[str, str]]:
        return "ok", {"Vary": existing}

    response = app.test_client().get("/varied", headers={"Origin": FRONTEND})
    assert response.headers.getlist("Vary") == [expected]


def test_vary_fields_are_combined_into_one() -> None:
    app = Flask(__name__)
    CORS(app, origins=[FRONTEND])

    @app.get("/varied")
    def varied() -> t.Any:
        response = app.response_class("ok")
        response.headers.add("Vary", "Accept")
        response.headers.add("Vary", "Accept-Language")
        return response

    response = app.test_client().get("/varied", headers={"Origin": FRONTEND})
    assert response.headers.getlist("Vary") == ["Accept, Accept-Language, Origin"]


def test_session_vary_cookie_is_added_after_ours() -> None:
    app = Flask(__name__)
    app.secret_key = "test"
    CORS(app, origins=[FRONTEND])

    @app.get("/session")
    def uses_session() -> str:
        from flask import session

        session["seen"] = True
        return "ok"

    response = app.test_client().get("/session", headers={"Origin": FRONTEND})
    assert {v.strip() for v in response.headers["Vary"].split(",")} == {"Origin", "Cookie"}


def test_no_origins_configured_means_cors_is_off(new_app: t.Any) -> None:
    app = new_app()
    CORS(app)
    response = app.test_client().get("/items", headers={"Origin": FRONTEND})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Vary" not in response.headers


def test_refusals_are_logged_at_debug_with_the_reason(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, app: Flask
) -> None:
    with caplog.at_level(logging.DEBUG, logger=app.logger.name):
        client.get("/items", headers={"Origin": "https://evil.example.net"})
    [record] = [r for r in caplog.records if "CORS" in r.getMessage()]
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert "'https://evil.example.net'" in message and "origin not allowed" in message
    assert "app config" in message
