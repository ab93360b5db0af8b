from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask

from flask_plug_demo import close_app, create_app

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


@pytest.fixture
def app(tmp_path: Path) -> t.Iterator[Flask]:

    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    yield app
    close_app(app)


@pytest.fixture
def access_log(app: Flask) -> t.Callable[[], list[str]]:
    """The access log's lines so far, once the writer thread has written them."""
    from flask_plug_demo.extensions import reqlog

    def read() -> list[str]:
        assert reqlog.flush(app, timeout=10)
        return Path(app.instance_path, "access.log").read_text().splitlines()

    return read


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def api_token(app: Flask) -> str:
    """A token of the demo's normal user, created the way the Account page does by
    default: with both of its scopes."""
    from flask_plug_demo.extensions import auth

    with app.test_request_context():
        [user] = [u for u in auth.store.list_users() if u.username == "demo"]
        return auth.create_token(user, name="tests", scopes=("notes:read", "notes:write"))
