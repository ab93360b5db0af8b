"""``g.user`` reads the same however it is read, and composes with other ``g`` classes."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, g
from flask.ctx import _AppCtxGlobals

from flask_plug.auth import Auth, User

from .conftest import AppFactory

JSON = {"Accept": "application/json"}


def add_probes(app: Flask) -> None:
    @app.get("/probe/<way>")
    def probe(way: str) -> dict[str, t.Any]:
        if way == "get":
            value: t.Any = g.get("user")
        elif way == "get-default":
            value = g.get("user", "default")
        elif way == "in":
            return {"value": "user" in g}
        elif way == "getattr":
            value = getattr(g, "user", "missing")
        elif way == "pop":
            value = g.pop("user", "missing")
        else:
            value = g.user
        return {"value": value.username if isinstance(value, User) else value}


@pytest.fixture
def probe_app(make_app: AppFactory) -> Flask:
    app = make_app()
    add_probes(app)
    return app


def token_for(app: Flask, auth: Auth, name: str, roles: t.Sequence[str] = ()) -> dict[str, str]:
    with app.app_context():
        user = auth.register_user(name, f"{name}-correct-horse-battery", roles=roles)
        return {"Authorization": f"Bearer {auth.create_token(user)}", **JSON}


@pytest.mark.parametrize(
    ("way", "expected"),
    [
        ("get", "ann"),
        ("get-default", "ann"),
        ("in", True),
        ("getattr", "ann"),
        ("attr", "ann"),
        ("pop", "ann"),
    ],
)
def test_every_way_of_reading_g_user_sees_the_token_user(
    probe_app: Flask, auth: Auth, way: str, expected: t.Any
) -> None:
    headers = token_for(probe_app, auth, "ann")
    response = probe_app.test_client().get(f"/probe/{way}", headers=headers)
    assert response.get_json() == {"value": expected}


@pytest.mark.parametrize(
    ("way", "expected"),
    [("get", None), ("get-default", None), ("in", True), ("getattr", None), ("attr", None)],
)
def test_anonymous_user_reads_as_none_every_way(
    probe_app: Flask, way: str, expected: t.Any
) -> None:
    response = probe_app.test_client().get(f"/probe/{way}", headers=JSON)
    assert response.get_json() == {"value": expected}


def test_outside_a_request_there_is_no_user(probe_app: Flask) -> None:
    with probe_app.app_context():
        assert g.get("user") is None
        assert g.get("user", "default") == "default"
        assert "user" not in g
        assert getattr(g, "user", "missing") == "missing"


def test_app_own_globals_class_keeps_working(make_app: AppFactory, auth: Auth) -> None:
    class AppGlobals(_AppCtxGlobals):
        def __getattr__(self, name: str) -> t.Any:
            if name == "tenant":
                return "acme"
            return super().__getattr__(name)

        def get(self, name: str, default: t.Any | None = None) -> t.Any:
            if name == "tenant":
                return "acme"
            return super().get(name, default)

        def __contains__(self, item: str) -> bool:
            return item == "tenant" or super().__contains__(item)

    # make_app builds and registers in one go: the class must be Flask's default meanwhile.
    base = Flask.app_ctx_globals_class
    Flask.app_ctx_globals_class = AppGlobals
    try:
        app = make_app()
    finally:
        Flask.app_ctx_globals_class = base

    @app.get("/both")
    def both() -> dict[str, t.Any]:
        user = g.get("user")
        return {
            "user": user.username if user else None,
            "tenant": [g.get("tenant"), "tenant" in g, g.tenant],
            "user_in": "user" in g,
        }

    headers = token_for(app, auth, "bob")
    assert app.test_client().get("/both", headers=headers).get_json() == {
        "user": "bob",
        "tenant": ["acme", True, "acme"],
        "user_in": True,
    }
