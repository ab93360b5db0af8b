"""Chromium logs in through the login form, logs out, and cannot go back to private pages.

Self-contained: the fixtures live here (names prefixed ``auth_``), not in conftest.py;
the browser and the live server are the shared plugin's (``testing/``).
"""

from __future__ import annotations

import secrets
import string
import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, render_template_string, request

from flask_plug.auth import Auth

pytestmark = pytest.mark.browser

USERNAME = "ada-browser"
PASSWORD = "correct horse battery staple"
GENERIC_FAILURE = "Wrong user name or password, or too many attempts. Try again later."

PRIVATE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Private</title></head>
<body>
  <p id="who">Signed in as {{ g.user.username }}</p>
  <form method="post" action="{{ url_for('auth.logout') }}">
    <input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
    <button type="submit">Log out</button>
  </form>
</body></html>
"""


@dataclass
class AuthSite:
    url: str
    hits: list[str]
    """Paths the server was asked for, in order (but /favicon.ico)."""


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


def _make_auth_app(database: Path) -> tuple[Flask, Auth, list[str]]:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(),
        AUTH_DATABASE_URI=f"sqlite:///{database}",
        SESSION_COOKIE_SAMESITE="Lax",
    )
    auth = Auth(app)
    hits: list[str] = []

    @app.before_request
    def record() -> None:
        if request.path != "/favicon.ico":  # asked for by the browser at any time
            hits.append(request.path)

    @app.get("/")
    def index() -> str:
        return "<!doctype html><title>Home</title><p>public</p>"

    @app.get("/private")
    @auth.login_required
    def private() -> str:
        return render_template_string(PRIVATE_PAGE)

    with app.app_context():
        auth.store.create_tables()
        auth.register_user(USERNAME, PASSWORD)
    return app, auth, hits


@pytest.fixture
def auth_site(tmp_path: Path, live_server: t.Callable[[Flask], str]) -> t.Iterator[AuthSite]:
    app, auth, hits = _make_auth_app(tmp_path / "auth.db")
    yield AuthSite(live_server(app), hits)
    with app.app_context():
        auth.store.engine.dispose()


@pytest.fixture
def auth_page(browser: t.Any) -> t.Iterator[t.Any]:
    """A page in a fresh browser context: no cookies or cache from other tests."""
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _is_login_page(url: str, base: str, next_path: str | None = None) -> bool:
    """Whether ``url`` is the login form of ``base`` (with ``next`` = ``next_path``)."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != base or parts.path != "/auth/login":
        return False
    query = parse_qs(parts.query)
    return query == ({} if next_path is None else {"next": [next_path]})


def _log_in(page: t.Any, password: str) -> None:
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_login_logout_and_back_button(auth_site: AuthSite, auth_page: t.Any) -> None:
    page, base = auth_page, auth_site.url

    page.goto(base + "/private")
    assert _is_login_page(page.url, base, "/private"), page.url
    assert page.get_by_role("heading", name="Log in").is_visible()

    _log_in(page, PASSWORD)
    page.wait_for_url(base + "/private")
    assert page.locator("#who").inner_text() == f"Signed in as {USERNAME}"

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(lambda url: _is_login_page(url, base))
    assert USERNAME not in page.content()

    # Back button: Chromium asks the server for /private again (the cached copy does not
    # match: Flask answers session-reading requests with "Vary: Cookie", and the cookie
    # changed at logout), and the ended session sends it to the login form.
    before = len(auth_site.hits)
    page.go_back()
    page.wait_for_url(lambda url: _is_login_page(url, base, "/private"))
    assert auth_site.hits[before:] == ["/private", "/auth/login"]
    assert USERNAME not in page.content()

    # A reload of that history entry asks the server again: still the login form.
    page.reload()
    page.wait_for_url(lambda url: _is_login_page(url, base, "/private"))
    assert USERNAME not in page.content()
    assert page.get_by_role("button", name="Log in").is_visible()


def test_wrong_password_shows_the_generic_message(auth_site: AuthSite, auth_page: t.Any) -> None:
    page, base = auth_page, auth_site.url

    page.goto(base + "/private")
    _log_in(page, PASSWORD + "!")
    page.wait_for_url(lambda url: _is_login_page(url, base))
    alert = page.get_by_role("alert")
    assert alert.inner_text() == GENERIC_FAILURE
    assert USERNAME not in page.locator("body").inner_text()
    assert page.get_by_label("User name").is_visible()

    page.goto(base + "/private")
    assert _is_login_page(page.url, base, "/private"), page.url
