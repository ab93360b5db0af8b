"""Secret keys with too little entropy are refused; a key rotation keeps open forms working."""

from __future__ import annotations

import secrets
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from flask_plug.auth import Auth, User
from flask_plug.auth.settings import check_secret_key

Login = t.Callable[..., t.Any]
Csrf = t.Callable[[FlaskClient], str]

LOW_ENTROPY = {
    "a-x32": "a" * 32,
    "dev-x11": "dev" * 11,
    "nul-x32": b"\0" * 32,
    "hex-digits-x2": "0123456789abcdef" * 2,
    "seven-letters-x5": "abcdefg" * 5,
    "two-bytes": b"\xff\xfe" * 20,
    "pattern-and-a-bit": "password" * 4 + "pass",
    "one-letter-mostly": "a" * 40 + "bcdefghij",
}


@pytest.fixture
def engine() -> t.Iterator[Engine]:
    """An engine that is never connected: these tests stop before the database."""
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


def bare_app(tmp_path: Path, **config: t.Any) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY=secrets.token_hex(32), TESTING=True)
    app.config.update(config)
    return app


@pytest.mark.parametrize("secret", LOW_ENTROPY.values(), ids=LOW_ENTROPY.keys())
def test_secret_key_with_too_little_entropy_is_refused(
    tmp_path: Path, engine: Engine, secret: str | bytes
) -> None:
    app = bare_app(tmp_path, SECRET_KEY=secret)
    with pytest.raises(RuntimeError, match=r"^SECRET_KEY .*(distinct|repeats)"):
        Auth(app, engine=engine)
    assert "flask-plug-auth" not in app.extensions


@pytest.mark.parametrize("secret", LOW_ENTROPY.values(), ids=LOW_ENTROPY.keys())
def test_fallback_key_with_too_little_entropy_is_refused_naming_it(
    tmp_path: Path, engine: Engine, secret: str | bytes
) -> None:
    app = bare_app(tmp_path, SECRET_KEY_FALLBACKS=[secrets.token_hex(32), secret])
    with pytest.raises(RuntimeError, match=r"^SECRET_KEY_FALLBACKS\[1\] "):
        Auth(app, engine=engine)


@pytest.mark.parametrize(
    "fallback", ["changeme", secrets.token_hex(8), ""], ids=["placeholder", "short", "empty"]
)
def test_fallback_keys_get_every_check_of_the_secret_key(
    tmp_path: Path, engine: Engine, fallback: str
) -> None:
    app = bare_app(tmp_path, SECRET_KEY_FALLBACKS=[fallback])
    with pytest.raises(RuntimeError, match=r"^SECRET_KEY_FALLBACKS\[0\] "):
        Auth(app, engine=engine)


def test_fallback_keys_given_as_one_string_are_refused(tmp_path: Path, engine: Engine) -> None:
    app = bare_app(tmp_path, SECRET_KEY_FALLBACKS=secrets.token_hex(32))
    with pytest.raises(RuntimeError, match="SECRET_KEY_FALLBACKS must be a list"):
        Auth(app, engine=engine)


def test_the_error_does_not_show_a_weak_key(tmp_path: Path, engine: Engine) -> None:
    secret = "k3y!" * 10
    app = bare_app(tmp_path, SECRET_KEY_FALLBACKS=[secret])
    with pytest.raises(RuntimeError) as error:
        Auth(app, engine=engine)
    assert "k3y!" not in str(error.value)


KEY_MAKERS: dict[str, t.Callable[[], str | bytes]] = {
    "token_hex(16)": lambda: secrets.token_hex(16),
    "token_hex(32) (the demo's)": lambda: secrets.token_hex(32),
    "token_urlsafe(32)": lambda: secrets.token_urlsafe(32),
    "token_urlsafe(40) (the tests')": lambda: secrets.token_urlsafe(40),
    "token_bytes(32)": lambda: secrets.token_bytes(32),
}


@pytest.mark.parametrize("make_key", KEY_MAKERS.values(), ids=KEY_MAKERS.keys())
def test_random_keys_are_accepted_every_time(
    tmp_path: Path, engine: Engine, make_key: t.Callable[[], str | bytes]
) -> None:
    app = bare_app(tmp_path)
    for _ in range(5000):  # a rule that refused 1 random key in 1000 would fail here
        app.config.update(SECRET_KEY=make_key(), SECRET_KEY_FALLBACKS=[make_key()])
        check_secret_key(app)  # what init_app runs first
    Auth(app, engine=engine)


# CSRF tokens across a key rotation ---------------------------------------------------------


def test_form_rendered_before_a_key_rotation_still_posts_after_it(
    make_app: t.Callable[..., Flask], users: dict[str, User], passwords: dict[str, str]
) -> None:
    old_key, new_key = secrets.token_urlsafe(40), secrets.token_urlsafe(40)
    before = make_app(SECRET_KEY=old_key)
    browser = before.test_client()
    html = {"Accept": "text/html"}
    page = browser.get("/auth/login", headers=html).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    cookie = browser.get_cookie("session")
    assert cookie is not None

    after = make_app(SECRET_KEY=new_key, SECRET_KEY_FALLBACKS=[old_key])
    rotated = after.test_client()
    rotated.set_cookie("session", cookie.value)
    data = {"csrf_token": token, "username": "ann", "password": passwords["ann"]}
    response = rotated.post("/auth/login", data=data, headers=html)
    assert response.status_code == 302
    assert rotated.get("/private").get_data(as_text=True) == "private page of ann"


def test_form_signed_with_a_key_that_was_dropped_is_refused(
    make_app: t.Callable[..., Flask], users: dict[str, User], passwords: dict[str, str]
) -> None:
    old_key = secrets.token_urlsafe(40)
    before = make_app(SECRET_KEY=old_key)
    browser = before.test_client()
    page = browser.get("/auth/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    cookie = browser.get_cookie("session")
    assert cookie is not None

    after = make_app(SECRET_KEY_FALLBACKS=[secrets.token_urlsafe(40)])  # not the old one
    rotated = after.test_client()
    rotated.set_cookie("session", cookie.value)
    data = {"csrf_token": token, "username": "ann", "password": passwords["ann"]}
    assert rotated.post("/auth/login", data=data).status_code == 400


def test_new_forms_are_signed_with_the_current_key(
    make_app: t.Callable[..., Flask],
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    current = secrets.token_urlsafe(40)
    app = make_app(SECRET_KEY=current, SECRET_KEY_FALLBACKS=[secrets.token_urlsafe(40)])
    client = app.test_client()
    assert login(client, "ann", passwords["ann"]).status_code == 302

    # The same session and form under an app that knows only the current key.
    cookie = client.get_cookie("session")
    assert cookie is not None
    only_current = make_app(SECRET_KEY=current)
    other = only_current.test_client()
    other.set_cookie("session", cookie.value)
    assert login(other, "bob", passwords["bob"]).status_code == 302
