from __future__ import annotations

import typing as t

import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import update

from flask_plug.auth import Auth, User
from flask_plug.auth.models import login_sessions

LoggedIn = t.Callable[[str], FlaskClient]
Csrf = t.Callable[[FlaskClient], str]


def test_replayed_cookie_after_logout_gets_401(
    app: Flask, logged_in: LoggedIn, csrf: Csrf, json_headers: dict[str, str]
) -> None:
    client = logged_in("ann")
    captured = client.get_cookie("session").value
    assert client.post("/auth/logout", data={"csrf_token": csrf(client)}).status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", captured)
    response = replay.get("/api/me", headers=json_headers)
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required"}


def test_two_logins_of_one_user_are_separate_sessions(
    logged_in: LoggedIn, csrf: Csrf, json_headers: dict[str, str]
) -> None:
    laptop, phone = logged_in("ann"), logged_in("ann")
    assert laptop.post("/auth/logout", data={"csrf_token": csrf(laptop)}).status_code == 302
    assert laptop.get("/api/me", headers=json_headers).status_code == 401
    assert phone.get("/api/me", headers=json_headers).get_json()["username"] == "ann"


def test_logout_everywhere_ends_other_sessions_but_keeps_this_one(
    logged_in: LoggedIn, csrf: Csrf, json_headers: dict[str, str]
) -> None:
    laptop, phone, bobs = logged_in("ann"), logged_in("ann"), logged_in("bob")
    response = laptop.post("/auth/logout-everywhere", data={"csrf_token": csrf(laptop)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"

    assert laptop.get("/api/me", headers=json_headers).status_code == 200
    assert phone.get("/api/me", headers=json_headers).status_code == 401
    assert bobs.get("/api/me", headers=json_headers).status_code == 200


def test_logout_everywhere_needs_csrf_token(
    logged_in: LoggedIn, json_headers: dict[str, str]
) -> None:
    laptop, phone = logged_in("ann"), logged_in("ann")
    assert laptop.post("/auth/logout-everywhere", data={"csrf_token": "x"}).status_code == 400
    assert phone.get("/api/me", headers=json_headers).status_code == 200


def test_logout_everywhere_when_logged_out_is_401(client: FlaskClient, csrf: Csrf) -> None:
    response = client.post("/auth/logout-everywhere", data={"csrf_token": csrf(client)})
    assert response.status_code == 401


def test_change_password_in_a_route_ends_other_sessions_only(
    app: Flask,
    auth: Auth,
    logged_in: LoggedIn,
    login: t.Callable[..., t.Any],
    passwords: dict[str, str],
    json_headers: dict[str, str],
) -> None:
    @app.post("/change-password")
    @auth.login_required
    def change_password() -> str:
        auth.change_password(g.user, "a-brand-new-password")
        return "changed"

    laptop, phone, bobs = logged_in("ann"), logged_in("ann"), logged_in("bob")
    assert laptop.post("/change-password").get_data(as_text=True) == "changed"

    assert laptop.get("/api/me", headers=json_headers).status_code == 200
    assert phone.get("/api/me", headers=json_headers).status_code == 401
    assert bobs.get("/api/me", headers=json_headers).status_code == 200
    assert login(app.test_client(), "ann", passwords["ann"]).status_code == 401
    assert login(app.test_client(), "ann", "a-brand-new-password").status_code == 302


def test_change_password_in_test_request_context_ends_every_session(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    logged_in: LoggedIn,
    json_headers: dict[str, str],
) -> None:
    phone = logged_in("ann")
    with app.test_request_context():
        auth.change_password(users["ann"], "a-brand-new-password")
    assert phone.get("/api/me", headers=json_headers).status_code == 401


def test_change_password_refuses_a_short_password(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    logged_in: LoggedIn,
    json_headers: dict[str, str],
) -> None:
    phone = logged_in("ann")
    with app.test_request_context():
        with pytest.raises(ValueError, match="at least 8 characters"):
            auth.change_password(users["ann"], "short")
    assert phone.get("/api/me", headers=json_headers).status_code == 200


def test_expired_session_gets_401(
    app: Flask, auth: Auth, logged_in: LoggedIn, json_headers: dict[str, str]
) -> None:
    client = logged_in("ann")
    with app.app_context(), auth.store.engine.begin() as conn:
        conn.execute(update(login_sessions).values(expires_at=login_sessions.c.created_at))
    assert client.get("/api/me", headers=json_headers).status_code == 401


def test_session_of_a_deleted_user_gets_401(
    app: Flask, auth: Auth, logged_in: LoggedIn, json_headers: dict[str, str]
) -> None:
    client = logged_in("bob")
    with app.app_context():
        assert auth.store.delete_user("bob") is True
    assert client.get("/api/me", headers=json_headers).status_code == 401


def test_purge_removes_expired_sessions_and_old_failures(
    app: Flask, auth: Auth, logged_in: LoggedIn, json_headers: dict[str, str]
) -> None:
    from sqlalchemy import func, select

    client = logged_in("ann")
    other = logged_in("bob")
    with app.app_context(), auth.store.engine.begin() as conn:
        conn.execute(
            update(login_sessions)
            .where(login_sessions.c.user_id == auth.store.find_user("ann")[0].id)  # type: ignore[index]
            .values(expires_at=login_sessions.c.created_at)
        )
    result = app.test_cli_runner().invoke(args=["auth", "purge"])
    assert result.exit_code == 0 and result.output == "removed 1 expired rows\n"
    with app.app_context(), auth.store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(login_sessions)) == 1
    assert client.get("/api/me", headers=json_headers).status_code == 401
    assert other.get("/api/me", headers=json_headers).status_code == 200


def test_requests_without_a_session_cookie_get_an_empty_session(
    app: Flask, client: FlaskClient, users: dict[str, User], login: t.Any, passwords: dict[str, str]
) -> None:
    from flask.sessions import SecureCookieSessionInterface

    # auth replaces Flask's default interface with one that skips the cookie signer when
    # there is no cookie; sessions behave the same.
    assert type(app.session_interface) is not SecureCookieSessionInterface
    assert isinstance(app.session_interface, SecureCookieSessionInterface)
    with app.test_request_context():
        assert app.session_interface.open_session(app, app.request_class({})) == {}
    login(client, "bob", passwords["bob"])
    assert client.get("/private").status_code == 200


def test_a_custom_session_interface_is_kept(tmp_path: t.Any) -> None:
    import secrets

    from flask.sessions import SecureCookieSessionInterface

    class Custom(SecureCookieSessionInterface):
        pass

    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY=secrets.token_urlsafe(40), TESTING=True)
    app.session_interface = Custom()
    Auth(app, database_uri="sqlite://")
    assert type(app.session_interface) is Custom
