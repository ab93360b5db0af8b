"""Sign-up with a confirmation mail, on the built-in table and on an app's own model."""

from __future__ import annotations

import secrets
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_plug.auth import Auth, UserModelMixin

SENT = "Check your mail: follow the link we sent to finish signing up."
BAD_LINK = "This link is invalid, has expired, or was used already."
PASSWORD = "a-long-enough-passphrase"

Submit = t.Callable[..., t.Any]


@pytest.fixture
def site(make_site: t.Callable[..., t.Any]) -> t.Any:
    return make_site(AUTH_REGISTRATION=True)


def path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "localhost", url
    return parts.path


def sign_up(
    client: t.Any, submit: Submit, username: str, email: str, extra: dict[str, str] | None = None
) -> t.Any:
    data = {"username": username, "email": email, "password": PASSWORD, "password2": PASSWORD}
    return submit(client, "/auth/register", {**data, **(extra or {})})


def login_status(app: Flask, submit: Submit, name: str, password: str = PASSWORD) -> int:
    response = submit(app.test_client(), "/auth/login", {"username": name, "password": password})
    return t.cast(int, response.status_code)


def test_sign_up_confirm_and_log_in(site: t.Any, smtp: t.Any, submit: Submit) -> None:
    app, auth = site
    client = app.test_client()
    form = client.get("/auth/register", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'name="username"' in form and 'name="email"' in form

    response = sign_up(client, submit, "cleo", "Cleo@Example.com")
    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    with app.app_context():
        found = auth.store.find_user("cleo")
        assert found is not None
        user_id = auth.store.users.user_id(found[0])
        assert not auth.store.users.is_active(found[0])
        assert auth.store.is_pending(user_id)
    assert login_status(app, submit, "cleo") == 401  # not before confirming

    (mail,) = smtp.messages
    assert mail["To"] == "Cleo@Example.com"
    assert mail["Subject"] == "Confirm your account"
    link = path(smtp.link(mail))
    page = client.get(link, headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "Confirm my account" in page.get_data(as_text=True)
    with app.app_context():
        assert auth.store.is_pending(user_id)  # opening the link confirms nothing

    confirmed = submit(client, link, {})
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"] == "/auth/login"
    with app.app_context():
        assert not auth.store.is_pending(user_id)
    assert login_status(app, submit, "cleo") == 302
    assert login_status(app, submit, "cleo@example.com") == 302

    # A second use fails cleanly, on the page and on the button.
    assert client.get(link).status_code == 400
    again = submit(client, link, {}, csrf_from="/auth/register")
    assert again.status_code == 400
    assert BAD_LINK in again.get_data(as_text=True)


def test_deactivated_is_not_pending(site: t.Any, smtp: t.Any, submit: Submit) -> None:
    app, auth = site
    client = app.test_client()
    sign_up(client, submit, "cleo", "cleo@example.com")
    link = path(smtp.link(smtp.messages[0]))
    submit(client, link, {})
    with app.app_context():
        found = auth.store.find_user("cleo")
        user_id = auth.store.users.user_id(found[0])
        auth.store.set_active(user_id, False)  # an admin's decision
        assert not auth.store.is_pending(user_id)
    # The old link does not undo it.
    assert submit(client, link, {}, csrf_from="/auth/register").status_code == 400
    assert login_status(app, submit, "cleo") == 401


def test_an_address_with_an_account_gets_the_same_answer(
    site: t.Any, smtp: t.Any, submit: Submit
) -> None:
    app, auth = site
    client = app.test_client()
    new = sign_up(client, submit, "cleo", "cleo@example.com")
    taken = sign_up(client, submit, "dora", "ANN@example.com")
    assert (taken.status_code, taken.get_data(as_text=True)) == (
        new.status_code,
        new.get_data(as_text=True),
    )
    with app.app_context():
        assert auth.store.find_user("dora") is None
    confirm, notice = smtp.messages
    assert notice["To"] == "ann@example.com"  # the address as the account has it
    assert notice["Subject"] == "You already have an account"
    assert smtp.link(notice) == "http://localhost/auth/reset"  # AUTH_PASSWORD_RESET is on

    # A pending account's address gets its confirmation link again.
    sign_up(client, submit, "erin", "Cleo@Example.COM")
    resent = smtp.messages[2]
    assert resent["Subject"] == "Confirm your account"
    assert submit(client, path(smtp.link(resent)), {}).status_code == 302
    assert login_status(app, submit, "cleo") == 302


def test_a_taken_user_name_is_said_to_be(site: t.Any, smtp: t.Any, submit: Submit) -> None:
    app, _ = site
    response = sign_up(app.test_client(), submit, "ANN", "other@example.com")
    assert response.status_code == 409
    assert "That user name is taken" in response.get_data(as_text=True)
    assert smtp.messages == []


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"email": "not-an-address"}, "That is not an email address."),
        ({"email": "a@b.example\r\nBcc: x@y.example"}, "That is not an email address."),
        ({"password2": "something-else"}, "The two passwords differ."),
        ({"password": "short", "password2": "short"}, "at least 8 characters"),
        ({"username": "x" * 200}, "A user name has 1 to 150 characters."),
        ({"username": ""}, "A user name has 1 to 150 characters."),
    ],
)
def test_bad_forms_are_refused(
    site: t.Any, smtp: t.Any, submit: Submit, fields: dict[str, str], error: str
) -> None:
    app, _ = site
    response = sign_up(app.test_client(), submit, "cleo", "cleo@example.com", fields)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert smtp.messages == []


def test_json_answers(site: t.Any, smtp: t.Any, submit: Submit) -> None:
    app, _ = site
    client = app.test_client()
    data = {"username": "cleo", "email": "cleo@example.com", "password": PASSWORD}
    json = {"Accept": "application/json"}
    bad = submit(client, "/auth/register", {**data, "password2": "x"}, headers=json)
    assert bad.status_code == 400 and bad.get_json() == {"errors": ["The two passwords differ."]}
    good = submit(client, "/auth/register", {**data, "password2": PASSWORD}, headers=json)
    assert good.status_code == 200 and good.get_json() == {"message": SENT}


def test_email_only_logins(make_site: t.Callable[..., t.Any], smtp: t.Any, submit: Submit) -> None:
    app, auth = make_site(AUTH_REGISTRATION=True, AUTH_LOGIN_FIELDS=["email"])
    client = app.test_client()
    form = client.get("/auth/register", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert 'name="username"' not in form
    data = {"email": "cleo@example.com", "password": PASSWORD, "password2": PASSWORD}
    assert submit(client, "/auth/register", data).status_code == 200
    assert submit(client, path(smtp.link(smtp.messages[0])), {}).status_code == 302
    assert login_status(app, submit, "CLEO@example.com") == 302
    # An address taken answers the same.
    again = submit(client, "/auth/register", data)
    assert again.status_code == 200 and SENT in again.get_data(as_text=True)
    assert smtp.messages[1]["Subject"] == "You already have an account"


class NoEmailBase(DeclarativeBase):
    pass


class Nameless(UserModelMixin, NoEmailBase):
    __tablename__ = "nameless"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150))


@pytest.mark.parametrize(
    "feature", ["AUTH_PASSWORD_RESET", "AUTH_REGISTRATION", "AUTH_EMAIL_CHANGE"]
)
def test_a_model_without_email_cannot_mail(tmp_path: Path, feature: str) -> None:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        TRUSTED_HOSTS=["localhost"],
        AUTH_MAIL_FROM="no-reply@example.com",
    )
    app.config[feature] = True
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError, match=f"{feature} needs an email column"):
        Auth(app, user_model=Nameless, engine=engine)
    assert "flask-plug-auth" not in app.extensions  # nothing half-registered
    engine.dispose()
