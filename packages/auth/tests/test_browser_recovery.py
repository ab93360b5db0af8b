"""Chromium resets a forgotten password end to end: asks for the link, gets the mail
(read off a real SMTP server), sets a new password and logs in with it."""

from __future__ import annotations

import secrets
import string
import typing as t
from pathlib import Path

import pytest
from flask import Flask, g

from flask_plug.auth import Auth

pytestmark = pytest.mark.browser

USERNAME = "ada-browser"
OLD_PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a new and better passphrase"


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


@pytest.fixture
def reset_site(
    tmp_path: Path, live_server: t.Callable[[Flask], str], smtp: t.Any
) -> t.Iterator[str]:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(),
        AUTH_DATABASE_URI=f"sqlite:///{tmp_path / 'auth.db'}",
        SESSION_COOKIE_SAMESITE="Lax",
        TRUSTED_HOSTS=["127.0.0.1"],
        AUTH_PASSWORD_RESET=True,
        **smtp.config,
    )
    auth = Auth(app)

    @app.get("/private")
    @auth.login_required
    def private() -> str:
        return f"<!doctype html><title>Private</title><p id=who>Signed in as {g.user.username}</p>"

    with app.app_context():
        auth.store.create_tables()
        auth.register_user(USERNAME, OLD_PASSWORD, email="ada@example.com")
    yield live_server(app)
    with app.app_context():
        auth.store.engine.dispose()


@pytest.fixture
def page(browser: t.Any) -> t.Iterator[t.Any]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_password_reset_end_to_end(reset_site: str, page: t.Any, smtp: t.Any) -> None:
    base = reset_site
    page.goto(base + "/auth/reset")
    page.get_by_label("User name or email address").fill("ADA@example.com")
    page.get_by_role("button", name="Send me a link").click()
    page.wait_for_url(base + "/auth/reset")
    assert "a link to set a new password is on its way" in page.locator("#notice").inner_text()

    (mail,) = smtp.wait_for(1)
    assert mail["To"] == "ada@example.com"
    link = smtp.link(mail)
    assert link.startswith(base + "/auth/reset/")

    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url(base + "/auth/login")
    assert "Your password has been changed" in page.get_by_role("alert").inner_text()

    page.goto(base + "/private")
    page.get_by_label("User name").fill(USERNAME)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(base + "/private")
    assert page.locator("#who").inner_text() == f"Signed in as {USERNAME}"

    # The link worked once.
    page.goto(link)
    assert "This link is invalid" in page.locator("#notice").inner_text()
