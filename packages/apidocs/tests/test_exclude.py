"""APIDOCS_EXCLUDE names that match no endpoint or blueprint are reported, once."""

from __future__ import annotations

import logging

import pytest
from flask import Blueprint, Flask

from flask_plug.apidocs import APIDocs


def make_app(exclude: list[str]) -> Flask:
    app = Flask(__name__)
    app.config["APIDOCS_EXCLUDE"] = exclude
    APIDocs(app)  # before the routes: the names cannot be checked yet

    @app.get("/health")
    def health() -> str:
        return "ok"

    admin = Blueprint("admin", __name__)
    inner = Blueprint("users", __name__)

    @inner.get("/")
    def users() -> str:
        return "users"

    admin.register_blueprint(inner, url_prefix="/users")
    app.register_blueprint(admin, url_prefix="/admin")
    return app


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "APIDOCS_EXCLUDE" in r.getMessage()]


def test_unknown_exclude_names_are_logged_once_with_the_key(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(["health", "helth", "admin.users", "admni"])
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert client.get("/docs/openapi.json").status_code == 200
        app.extensions["flask-plug-apidocs"].document_text(app)
    (message,) = warnings_of(caplog)
    assert "'helth'" in message
    assert "'admni'" in message
    assert "'health'" not in message
    assert "admin.users" not in message
    paths = client.get("/docs/openapi.json").get_json()["paths"]
    assert "/health" not in paths
    assert "/admin/users/" not in paths


def test_known_exclude_names_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app(["health", "admin", "admin.users.users"])
    with caplog.at_level(logging.WARNING):
        assert app.test_client().get("/docs/openapi.json").status_code == 200
    assert warnings_of(caplog) == []


def test_document_method_reports_unknown_names_too(caplog: pytest.LogCaptureFixture) -> None:
    apidocs = APIDocs()
    app = Flask(__name__)
    app.config["APIDOCS_EXCLUDE"] = ["nothing"]
    apidocs.init_app(app)
    with caplog.at_level(logging.WARNING):
        apidocs.document(app)
        apidocs.document(app)
        app.test_client().get("/docs/openapi.json")
    (message,) = warnings_of(caplog)
    assert "'nothing'" in message
