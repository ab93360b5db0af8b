"""Chromium sets up the second factor from the page, logs out, and logs in with the
password and a code.

Self-contained, as test_browser.py is: the browser and the live server are the shared
plugin's (``testing/``).
"""

from __future__ import annotations

import secrets
import string
import time
import typing as t
from pathlib import Path

import pyotp
import pytest
from flask import Flask, render_template_string

from flask_plug.auth import Auth

pytestmark = pytest.mark.browser

USERNAME = "ada-2fa"
PASSWORD = "correct horse battery staple"

PRIVATE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Private</title></head>
<body>
  <p id="who">Signed in as {{ g.user.username }}</p>
  <a href="{{ url_for('auth.two_factor_setup') }}">Two-factor authentication</a>
  <form method="post" action="{{ url_for('auth.logout') }}">
    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    <button type="submit">Log out</button>
  </form>
</body></html>
"""


def _make_app(database: Path) -> tuple[Flask, Auth]:
    app = Flask(__name__)
    alphabet = string.ascii_letters + string.digits
    app.config.update(
        SECRET_KEY="".join(secrets.choice(alphabet) for _ in range(40)),
        AUTH_DATABASE_URI=f"sqlite:///{database}",
        SESSION_COOKIE_SAMESITE="Lax",
        AUTH_TWO_FACTOR=True,
    )
    auth = Auth(app)

    @app.get("/private")
    @auth.login_required
    def private() -> str:
        return render_template_string(PRIVATE_PAGE)

    with app.app_context():
        auth.store.create_tables()
        auth.register_user(USERNAME, PASSWORD)
    return app, auth


@pytest.fixture
def two_factor_site(tmp_path: Path, live_server: t.Callable[[Flask], str]) -> t.Iterator[str]:
    app, auth = _make_app(tmp_path / "auth.db")
    yield live_server(app)
    with app.app_context():
        auth.store.engine.dispose()


@pytest.fixture
def two_factor_page(browser: t.Any) -> t.Iterator[t.Any]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _log_in(page: t.Any) -> None:
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_set_up_then_log_in_with_a_code(two_factor_site: str, two_factor_page: t.Any) -> None:
    page, base = two_factor_page, two_factor_site

    page.goto(base + "/private")
    _log_in(page)
    page.wait_for_url(base + "/private")
    page.get_by_role("link", name="Two-factor authentication").click()
    page.wait_for_url(base + "/auth/two-factor/setup")
    assert page.locator("#qr svg").is_visible()
    secret = page.locator("#secret").inner_text()
    totp = pyotp.TOTP(secret)
    page.get_by_label("Code").fill(totp.now())
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Turn on two-factor authentication").click()
    codes = page.locator("#recovery-codes li")
    codes.first.wait_for()
    assert codes.count() == 10

    page.goto(base + "/private")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: "/auth/login" in url)

    page.goto(base + "/private")
    _log_in(page)
    page.wait_for_url(base + "/auth/two-factor")
    page.goto(base + "/private")  # not logged in yet: back to the login form
    page.wait_for_url(lambda url: "/auth/login" in url)
    _log_in(page)
    page.wait_for_url(base + "/auth/two-factor")
    # The next step's code: the current one may be the one that confirmed the set-up.
    page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(base + "/private")
    assert page.locator("#who").inner_text() == f"Signed in as {USERNAME}"
