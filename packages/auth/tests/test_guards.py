from __future__ import annotations

import base64
import typing as t
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from flask_plug.auth import Auth, User

LoggedIn = t.Callable[[str], FlaskClient]


@pytest.mark.parametrize("path", ["/private", "/private?x=1&y=%2F", "/admin", "/api/me"])
def test_browser_without_login_is_redirected_to_login_with_next(
    client: FlaskClient, html_headers: dict[str, str], path: str
) -> None:
    response = client.get(path, headers=html_headers)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/login"
    assert parse_qs(location.query) == {"next": [path]}


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Accept: curl, HTTP libraries
        {"Accept": "*/*"},  # fetch() from a page, requests, curl
        {"Accept": "application/json"},
        {"Accept": "application/json, text/html;q=0.5"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer not-a-token", "Accept": "text/html"},
        {"Authorization": "Basic " + base64.b64encode(b"ann:whatever-pw").decode()},
        {"Authorization": "Token abc"},
        {"Authorization": "Bearer"},
        {"Content-Type": "application/json", "Accept": "text/html"},
    ],
    ids=[
        "no-accept",
        "any",
        "json",
        "json-preferred",
        "bearer",
        "bearer-html",
        "basic-off",
        "unknown",
        "empty",
        "json-body",
    ],
)
def test_api_client_without_login_gets_401_json_with_bearer_challenge(
    client: FlaskClient, users: dict[str, User], headers: dict[str, str]
) -> None:
    response = client.get("/api/me", headers=headers)
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json() == {"error": "authentication required"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="app"'


def test_challenge_uses_the_configured_realm(
    make_app: t.Callable[..., Flask], json_headers: dict[str, str]
) -> None:
    client = make_app(AUTH_REALM="Billing API").test_client()
    response = client.get("/private", headers=json_headers)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="Billing API"'


def test_wrong_role_gets_403(logged_in: LoggedIn, json_headers: dict[str, str]) -> None:
    bob = logged_in("bob")
    assert bob.get("/admin").status_code == 403
    assert bob.get("/admin", headers=json_headers).status_code == 403
    assert bob.get("/private").status_code == 200


def test_user_with_the_role_reaches_the_view(logged_in: LoggedIn) -> None:
    response = logged_in("ann").get("/admin")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "admin page"


def test_logged_in_user_reaches_private_page(logged_in: LoggedIn) -> None:
    assert logged_in("bob").get("/private").get_data(as_text=True) == "private page of bob"


def test_api_me_returns_the_current_user(
    logged_in: LoggedIn, users: dict[str, User], json_headers: dict[str, str]
) -> None:
    response = logged_in("ann").get("/api/me", headers=json_headers)
    assert response.get_json() == {"id": users["ann"].id, "username": "ann", "roles": ["admin"]}


def test_login_required_leaves_metadata(auth: Auth) -> None:
    def view() -> str:
        return "ok"

    guarded = auth.login_required(view)
    assert guarded.__flask_plug__ == {  # type: ignore[attr-defined]
        "auth": {"login_required": True, "roles": [], "scopes": []}
    }
    assert guarded.__name__ == "view"


def test_roles_required_leaves_metadata_and_keeps_other_extensions(auth: Auth) -> None:
    def view() -> str:
        return "ok"

    view.__flask_plug__ = {"ratelimit": ["5/minute"]}  # type: ignore[attr-defined]
    guarded = auth.roles_required("editor")(auth.roles_required("admin", "editor")(view))
    assert guarded.__flask_plug__ == {  # type: ignore[attr-defined]
        "ratelimit": ["5/minute"],
        "auth": {"login_required": True, "roles": ["admin", "editor"], "scopes": []},
    }
    assert view.__flask_plug__ == {"ratelimit": ["5/minute"]}  # type: ignore[attr-defined]


@pytest.mark.parametrize("roles", [(), ("",), ("admin", "")])
def test_roles_required_without_role_names_raises(auth: Auth, roles: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="role"):
        auth.roles_required(*roles)


def test_route_that_never_touches_the_user_runs_no_query(
    app: Flask, auth: Auth, logged_in: LoggedIn, json_headers: dict[str, str]
) -> None:
    client = logged_in("ann")
    statements: list[str] = []
    with app.app_context():
        engine = auth.store.engine

    def count(*args: t.Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/").status_code == 200
        assert statements == []
        assert client.get("/api/me", headers=json_headers).status_code == 200
        assert len(statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", count)
