"""The demo's second factor: set up from the Account page, asked for at the next login."""

from __future__ import annotations

import re
import time
import typing as t
from pathlib import Path

import pyotp

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = re.compile(r'id="secret">([A-Z2-7]+)<')


def _password(app: Flask, username: str) -> str:
    lines = Path(app.instance_path, "first-run-passwords.txt").read_text().splitlines()
    return next(line.split()[1] for line in lines if line.split()[:1] == [username])


def _csrf(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match
    return match[1]


def _login(client: FlaskClient, username: str, password: str) -> t.Any:
    form = client.get("/auth/login").get_data(as_text=True)
    data = {"username": username, "password": password, "csrf_token": _csrf(form)}
    return client.post("/auth/login", data=data)


def test_the_admin_sets_up_two_factor_login_from_the_account_page(
    app: Flask, client: FlaskClient
) -> None:
    password = _password(app, "admin")
    assert _login(client, "admin", password).headers["Location"] == "/notes"
    account = client.get("/account").get_data(as_text=True)
    assert 'href="/auth/two-factor/setup">Set it up' in account

    setup = client.get("/auth/two-factor/setup").get_data(as_text=True)
    assert "<svg" in setup
    match = SECRET.search(setup)
    assert match
    totp = pyotp.TOTP(match[1])
    data = {"csrf_token": _csrf(setup), "code": totp.now(), "password": password}
    confirmed = client.post("/auth/two-factor/setup", data=data)
    assert confirmed.status_code == 200
    assert confirmed.get_data(as_text=True).count("<li>") == 10
    assert 'href="/auth/two-factor/setup">Manage it' in client.get("/account").get_data(
        as_text=True
    )

    client.post("/auth/logout", data={"csrf_token": _csrf(account)})
    assert _login(client, "admin", password).headers["Location"] == "/auth/two-factor"
    assert client.get("/notes").status_code == 401  # not logged in until the code
    form = client.get("/auth/two-factor").get_data(as_text=True)
    data = {"csrf_token": _csrf(form), "code": totp.at(time.time() + 30)}
    response = client.post("/auth/two-factor", data=data)
    assert response.headers["Location"] == "/notes"
    assert client.get("/notes").status_code == 200


def test_the_home_page_says_how_to_try_it(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Two-factor login" in page
