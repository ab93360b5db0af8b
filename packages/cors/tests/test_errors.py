"""Error responses carry the same CORS headers as successes, so scripts can read them."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, abort

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

FRONTEND = "https://app.example.com"


@pytest.fixture
def erroring(app: Flask) -> Flask:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/forbidden")
    def forbidden() -> str:
        abort(403)

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError

    return app


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/missing", 404),
        ("DELETE", "/items", 405),
        ("GET", "/forbidden", 403),
        ("GET", "/boom", 500),
        ("GET", "/items/", 405),
    ],
)
def test_errors_carry_cors_headers(erroring: Flask, method: str, path: str, status: int) -> None:
    response = erroring.test_client().open(path, method=method, headers={"Origin": FRONTEND})
    assert response.status_code == status
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Vary"] == "Origin"


def test_trailing_slash_redirect_carries_cors_headers(client: FlaskClient) -> None:
    response = client.post("/items", headers={"Origin": FRONTEND})
    assert response.status_code == 308
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
