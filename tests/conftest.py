from __future__ import annotations

import typing as t

import pytest
from flask import Flask

from flask_plug_demo import create_app


@pytest.fixture
def app() -> Flask:
    return create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> t.Any:
    return app.test_client()
