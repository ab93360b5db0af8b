from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_plug.auth import User

Login = t.Callable[..., t.Any]
THIRTY_DAYS = 30 * 24 * 3600


@pytest.fixture
def remembering(make_app: t.Callable[..., Flask], users: dict[str, User]) -> Flask:
    return make_app(AUTH_REMEMBER_DAYS=30)


def remember_cookie(response: t.Any) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith("remember_token="):
            return str(header)
    return None


def remembered_login(app: Flask, login: Login, passwords: dict[str, str]) -> str:
    """Log ann in with "keep me logged in"; the remember-me token."""
    client = app.test_client()
    response = login(client, "ann", passwords["ann"], remember=True)
    assert response.status_code == 302
    return str(client.get_cookie("remember_token").value)


def client_with_token(app: Flask, token: str) -> FlaskClient:
    client = app.test_client()
    client.set_cookie("remember_token", token)
    return client


def test_login_form_offers_remember_me_only_when_enabled(
    app: Flask, remembering: Flask, html_headers: dict[str, str]
) -> None:
    checkbox = 'name="remember"'
    assert checkbox in remembering.test_client().get("/auth/login").get_data(as_text=True)
    assert checkbox not in app.test_client().get("/auth/login").get_data(as_text=True)


def test_login_with_remember_sets_an_httponly_cookie(
    remembering: Flask, login: Login, passwords: dict[str, str]
) -> None:
    response = login(remembering.test_client(), "ann", passwords["ann"], remember=True)
    header = remember_cookie(response)
    assert header is not None
    assert "HttpOnly" in header
    assert "SameSite=Lax" in header
    assert f"Max-Age={THIRTY_DAYS}" in header


def test_login_without_remember_sets_no_cookie(
    remembering: Flask, login: Login, passwords: dict[str, str]
) -> None:
    response = login(remembering.test_client(), "ann", passwords["ann"])
    assert remember_cookie(response) is None


def test_remember_is_ignored_when_disabled(
    client: FlaskClient, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    response = login(client, "ann", passwords["ann"], remember=True)
    assert response.status_code == 302
    assert remember_cookie(response) is None


def test_remember_cookie_alone_logs_in_and_is_rotated(
    remembering: Flask, login: Login, passwords: dict[str, str], json_headers: dict[str, str]
) -> None:
    token = remembered_login(remembering, login, passwords)
    browser = client_with_token(remembering, token)

    response = browser.get("/api/me", headers=json_headers)
    assert response.status_code == 200
    assert response.get_json()["username"] == "ann"
    rotated = browser.get_cookie("remember_token").value
    assert rotated != token
    assert "HttpOnly" in (remember_cookie(response) or "")

    assert browser.get("/api/me", headers=json_headers).status_code == 200
    assert client_with_token(remembering, rotated).get("/private").status_code == 200


def test_reused_remember_token_is_refused(
    remembering: Flask, login: Login, passwords: dict[str, str], json_headers: dict[str, str]
) -> None:
    token = remembered_login(remembering, login, passwords)
    first = client_with_token(remembering, token).get("/api/me", headers=json_headers)
    assert first.status_code == 200

    again = client_with_token(remembering, token).get("/api/me", headers=json_headers)
    assert again.status_code == 401


def test_reused_remember_token_ends_the_users_sessions(
    remembering: Flask, login: Login, passwords: dict[str, str], json_headers: dict[str, str]
) -> None:
    token = remembered_login(remembering, login, passwords)
    thief = client_with_token(remembering, token)
    assert thief.get("/api/me", headers=json_headers).status_code == 200

    client_with_token(remembering, token).get("/api/me", headers=json_headers)  # the owner
    assert thief.get("/api/me", headers=json_headers).status_code == 401


def test_remember_token_with_wrong_validator_ends_the_users_sessions(
    remembering: Flask, login: Login, passwords: dict[str, str], json_headers: dict[str, str]
) -> None:
    victim = remembering.test_client()
    assert login(victim, "ann", passwords["ann"], remember=True).status_code == 302
    selector = victim.get_cookie("remember_token").value.partition(":")[0]

    forged = client_with_token(remembering, f"{selector}:not-the-validator")
    assert forged.get("/api/me", headers=json_headers).status_code == 401
    assert victim.get("/api/me", headers=json_headers).status_code == 401


def test_remember_cookie_stops_working_after_logout(
    remembering: Flask,
    login: Login,
    csrf: t.Callable[[FlaskClient], str],
    passwords: dict[str, str],
    json_headers: dict[str, str],
) -> None:
    client = remembering.test_client()
    assert login(client, "ann", passwords["ann"], remember=True).status_code == 302
    token = client.get_cookie("remember_token").value

    response = client.post("/auth/logout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert client.get_cookie("remember_token") is None
    replay = client_with_token(remembering, token)
    assert replay.get("/api/me", headers=json_headers).status_code == 401


@pytest.mark.parametrize("token", ["garbage", "", ":", "a" * 24 + ":x"])
def test_unknown_remember_cookie_gets_401_and_is_cleared(
    remembering: Flask, json_headers: dict[str, str], token: str
) -> None:
    client = client_with_token(remembering, token)
    assert client.get("/api/me", headers=json_headers).status_code == 401
    if token:
        assert client.get_cookie("remember_token") is None
