"""Every auth decorator guards ``async def`` views as it guards plain ones."""

from __future__ import annotations

import asyncio
import typing as t

import pytest
from flask import Flask, g

from flask_plug.auth import Auth, User

from .conftest import AppFactory

JSON = {"Accept": "application/json"}


@pytest.fixture
def async_app(make_app: AppFactory, auth: Auth) -> Flask:
    app = make_app()

    @app.get("/async/private")
    @auth.login_required
    async def async_private() -> dict[str, t.Any]:
        await asyncio.sleep(0)
        return {"user": g.user.username}

    @app.get("/async/admin")
    @auth.roles_required("admin")
    async def async_admin() -> str:
        await asyncio.sleep(0)
        return "admin only"

    @app.get("/async/stacked")
    @auth.login_required
    @auth.roles_required("admin")
    async def async_stacked() -> str:
        return "stacked"

    return app


def bearer(app: Flask, auth: Auth, user: User) -> dict[str, str]:
    with app.app_context():
        return {"Authorization": f"Bearer {auth.create_token(user)}", **JSON}


@pytest.fixture
def people(async_app: Flask, auth: Auth) -> dict[str, User]:
    with async_app.app_context():
        return {
            "ann": auth.register_user("ann", "ann-correct-horse-battery", roles=["admin"]),
            "bob": auth.register_user("bob", "bob-staple-lamp-window"),
        }


def test_login_required_runs_an_async_view(
    async_app: Flask, auth: Auth, people: dict[str, User]
) -> None:
    client = async_app.test_client()
    response = client.get("/async/private", headers=bearer(async_app, auth, people["bob"]))
    assert response.status_code == 200
    assert response.get_json() == {"user": "bob"}
    assert response.headers["Cache-Control"] == "private, no-store"
    assert client.get("/async/private", headers=JSON).status_code == 401


def test_roles_required_runs_an_async_view(
    async_app: Flask, auth: Auth, people: dict[str, User]
) -> None:
    client = async_app.test_client()
    ann = client.get("/async/admin", headers=bearer(async_app, auth, people["ann"]))
    assert ann.status_code == 200
    assert ann.get_data(as_text=True) == "admin only"
    bob = client.get("/async/admin", headers=bearer(async_app, auth, people["bob"]))
    assert bob.status_code == 403
    assert client.get("/async/admin", headers=JSON).status_code == 401


def test_stacked_guards_run_an_async_view(
    async_app: Flask, auth: Auth, people: dict[str, User]
) -> None:
    client = async_app.test_client()
    ann = client.get("/async/stacked", headers=bearer(async_app, auth, people["ann"]))
    assert (ann.status_code, ann.get_data(as_text=True)) == (200, "stacked")
    bob = client.get("/async/stacked", headers=bearer(async_app, auth, people["bob"]))
    assert bob.status_code == 403
