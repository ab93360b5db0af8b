from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


@pytest.fixture
def stats() -> Stats:
    return Stats()


@pytest.fixture
def app(stats: Stats) -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    stats.init_app(app)

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        return f"user {user_id}"

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(scope="session")
def summary() -> t.Callable[[FlaskClient], dict[str, t.Any]]:
    """The JSON view's endpoints, read as a loopback client."""

    def read(client: FlaskClient) -> dict[str, t.Any]:
        response = client.get("/admin/stats")
        assert response.status_code == 200
        endpoints: dict[str, t.Any] = response.json["endpoints"]
        return endpoints

    return read
