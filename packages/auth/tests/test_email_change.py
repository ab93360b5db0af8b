"""Changing one's email address: confirmed from the new address, the old one told."""

from __future__ import annotations

import typing as t
from urllib.parse import urlsplit

import pytest

PASSWORD = "ann-correct-horse-battery"
BAD_LINK = "This link is invalid, has expired, or was used already."
HTML = {"Accept": "text/html"}

Submit = t.Callable[..., t.Any]


@pytest.fixture
def site(make_site: t.Callable[..., t.Any]) -> t.Any:
    return make_site(AUTH_EMAIL_CHANGE=True)


@pytest.fixture
def ann(site: t.Any, submit: Submit) -> t.Any:
    """A client logged in as ann."""
    client = site.app.test_client()
    response = submit(client, "/auth/login", {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302
    return client


def path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "localhost", url
    return parts.path


def email_of(site: t.Any, name: str) -> str | None:
    with site.app.app_context():
        found = site.auth.store.find_user(name)
        return t.cast("str | None", getattr(found[0], "email", None))


def change(client: t.Any, submit: Submit, email: str, password: str = PASSWORD) -> t.Any:
    return submit(client, "/auth/email", {"email": email, "password": password})


def test_change_confirmed_from_the_new_address(
    site: t.Any, ann: t.Any, smtp: t.Any, submit: Submit
) -> None:
    page = ann.get("/auth/email", headers=HTML).get_data(as_text=True)
    assert "ann@example.com" in page

    response = change(ann, submit, "ann.new@example.org")
    assert response.status_code == 200
    assert "We sent a link to ann.new@example.org" in response.get_data(as_text=True)
    assert email_of(site, "ann") == "ann@example.com"  # not before the link is followed
    (mail,) = smtp.messages
    assert mail["To"] == "ann.new@example.org"
    assert mail["Subject"] == "Confirm your new email address"

    # Followed in another browser, not logged in: the link is the proof.
    other = site.app.test_client()
    link = path(smtp.link(mail))
    assert "Use this address" in other.get(link, headers=HTML).get_data(as_text=True)
    assert email_of(site, "ann") == "ann@example.com"
    done = submit(other, link, {})
    assert done.status_code == 302
    assert email_of(site, "ann") == "ann.new@example.org"

    notice = smtp.messages[1]
    assert notice["To"] == "ann@example.com"
    assert notice["Subject"] == "Your email address was changed"
    assert "ann.new@example.org" in smtp.body(notice)

    # Single use: the old address no longer matches.
    assert other.get(link).status_code == 400
    assert submit(other, link, {}, csrf_from="/auth/login").status_code == 400
    # The new address logs in (AUTH_LOGIN_FIELDS has email).
    login = submit(
        site.app.test_client(),
        "/auth/login",
        {"username": "ANN.new@example.org", "password": PASSWORD},
    )
    assert login.status_code == 302


def test_the_password_is_asked_again(site: t.Any, ann: t.Any, smtp: t.Any, submit: Submit) -> None:
    response = change(ann, submit, "ann.new@example.org", "wrong-password")
    assert response.status_code == 400
    assert "Wrong password." in response.get_data(as_text=True)
    assert smtp.messages == []


def test_logged_out_visitors_are_sent_to_log_in(site: t.Any, smtp: t.Any) -> None:
    client = site.app.test_client()
    page = client.get("/auth/email", headers=HTML)
    assert page.status_code == 302 and page.headers["Location"].startswith("/auth/login")
    assert client.get("/auth/email", headers={"Accept": "application/json"}).status_code == 401


def test_an_address_of_another_account_gets_no_mail(
    site: t.Any, ann: t.Any, smtp: t.Any, submit: Submit
) -> None:
    with site.app.app_context():
        site.auth.register_user("cleo", "cleo-long-password", email="cleo@example.com")
    taken = change(ann, submit, "CLEO@example.com")
    free = change(ann, submit, "free@example.com")
    assert taken.status_code == free.status_code == 200
    assert [m["To"] for m in smtp.messages] == ["free@example.com"]


def test_an_address_taken_meanwhile_is_refused(
    site: t.Any, ann: t.Any, smtp: t.Any, submit: Submit
) -> None:
    change(ann, submit, "shared@example.com")
    with site.app.app_context():
        site.auth.register_user("cleo", "cleo-long-password", email="shared@example.com")
    link = path(smtp.link(smtp.messages[0]))
    response = submit(ann, link, {})
    assert response.status_code == 409
    assert email_of(site, "ann") == "ann@example.com"


@pytest.mark.parametrize(
    "email", ["ann@example.com", "no-address", "x@y.example\nBcc: z@w.example"]
)
def test_bad_addresses_are_refused(
    site: t.Any, ann: t.Any, smtp: t.Any, submit: Submit, email: str
) -> None:
    response = change(ann, submit, email)
    assert response.status_code == 400
    assert "That is not a new email address." in response.get_data(as_text=True)
    assert smtp.messages == []
