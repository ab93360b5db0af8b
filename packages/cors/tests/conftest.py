from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from flask_plug.cors import CORS

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

FRONTEND = "https://app.example.com"


def make_app(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)

    @app.route("/items", methods=["GET", "PUT"])
    def items() -> dict[str, list[int]]:
        return {"items": [1, 2]}

    @app.post("/items/")
    def create_item() -> tuple[str, int]:
        return "created", 201

    return app


@pytest.fixture
def app() -> Flask:
    app = make_app(CORS_ORIGINS=[FRONTEND])
    CORS(app)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def preflight(client: FlaskClient, path: str, method: str = "PUT", **headers: str) -> t.Any:
    """Send a CORS preflight the way a browser does."""
    environ = {"HTTP_ORIGIN": headers.pop("origin", FRONTEND)}
    environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"] = method
    for name, value in headers.items():
        environ["HTTP_" + name.upper()] = value
    return client.options(path, environ_overrides=environ)


@pytest.fixture(scope="session")
def new_app() -> t.Callable[..., Flask]:
    """An app with ``/items`` (GET, PUT) and ``/items/`` (POST), configured from kwargs."""
    return make_app


@pytest.fixture(scope="session")
def send_preflight() -> t.Callable[..., t.Any]:
    return preflight
