from __future__ import annotations

import re
import time
import typing as t
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from flask_plug.auth import User

Login = t.Callable[..., t.Any]
Csrf = t.Callable[[FlaskClient], str]


def without_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', page)


def test_login_redirects_to_the_default_page(
    client: FlaskClient, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    response = login(client, "ann", passwords["ann"])
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/private").get_data(as_text=True) == "private page of ann"


def test_login_follows_next_on_this_site(
    client: FlaskClient, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    response = login(client, "bob", passwords["bob"], next="/private?x=1")
    assert response.status_code == 302
    assert response.headers["Location"] == "/private?x=1"


def test_default_next_comes_from_config(
    make_app: t.Callable[..., Flask],
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    app = make_app(AUTH_DEFAULT_NEXT="/private")
    response = login(app.test_client(), "ann", passwords["ann"], next="//evil.com")
    assert response.headers["Location"] == "/private"


@pytest.mark.parametrize(
    ("username", "password"),
    [("ann", "wrong-password-123"), ("nobody", "wrong-password-123"), ("ann", "")],
    ids=["wrong-password", "unknown-user", "empty-password"],
)
def test_failed_login_gets_401_and_the_generic_message(
    client: FlaskClient,
    users: dict[str, User],
    login: Login,
    generic_failure: str,
    username: str,
    password: str,
) -> None:
    response = login(client, username, password)
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert page.count(generic_failure) == 1
    assert 'role="alert"' in page
    assert client.get("/api/me", headers={"Accept": "application/json"}).status_code == 401


def test_unknown_user_and_wrong_password_pages_are_identical(
    app: Flask, users: dict[str, User], login: Login
) -> None:
    unknown = login(app.test_client(), "nobody", "wrong-password-123", next="/private")
    wrong = login(app.test_client(), "ann", "wrong-password-123", next="/private")
    assert unknown.status_code == wrong.status_code == 401
    assert without_csrf(unknown.get_data(as_text=True)) == without_csrf(
        wrong.get_data(as_text=True)
    )


def test_failed_login_keeps_a_safe_next_in_the_form(
    client: FlaskClient, users: dict[str, User], login: Login
) -> None:
    page = login(client, "ann", "wrong-password-123", next="/private").get_data(as_text=True)
    assert 'name="next" value="/private"' in page


def test_get_logout_is_405(client: FlaskClient, users: dict[str, User]) -> None:
    assert client.get("/auth/logout").status_code == 405


@pytest.mark.parametrize("token", [None, "", "forged.token"], ids=["missing", "empty", "wrong"])
def test_logout_without_a_valid_csrf_token_is_400_and_keeps_the_session(
    logged_in: t.Callable[[str], FlaskClient], token: str | None, json_headers: dict[str, str]
) -> None:
    client = logged_in("ann")
    data = {} if token is None else {"csrf_token": token}
    assert client.post("/auth/logout", data=data).status_code == 400
    assert client.get("/api/me", headers=json_headers).status_code == 200


def test_logout_with_csrf_token_ends_the_login(
    logged_in: t.Callable[[str], FlaskClient], csrf: Csrf, json_headers: dict[str, str]
) -> None:
    client = logged_in("ann")
    response = client.post("/auth/logout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert client.get("/api/me", headers=json_headers).status_code == 401


def test_login_without_csrf_token_is_400(
    client: FlaskClient, users: dict[str, User], csrf: Csrf, passwords: dict[str, str]
) -> None:
    csrf(client)  # the session has a token, the form does not send it
    data = {"username": "ann", "password": passwords["ann"]}
    assert client.post("/auth/login", data=data).status_code == 400
    assert client.get("/private").status_code == 401  # not logged in


def test_login_with_a_wrong_csrf_token_is_400(
    client: FlaskClient, users: dict[str, User], login: Login, csrf: Csrf, passwords: dict[str, str]
) -> None:
    real = csrf(client)
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    response = login(client, "ann", passwords["ann"], csrf_token=forged)
    assert response.status_code == 400


def test_login_with_another_sessions_csrf_token_is_400(
    app: Flask, users: dict[str, User], login: Login, csrf: Csrf, passwords: dict[str, str]
) -> None:
    attacker, victim = app.test_client(), app.test_client()
    csrf(victim)  # the victim's session has a token of its own
    response = login(victim, "ann", passwords["ann"], csrf_token=csrf(attacker))
    assert response.status_code == 400


def test_login_from_a_session_without_csrf_token_is_400(
    app: Flask, users: dict[str, User], login: Login, csrf: Csrf, passwords: dict[str, str]
) -> None:
    response = login(app.test_client(), "ann", passwords["ann"], csrf_token=csrf(app.test_client()))
    assert response.status_code == 400


def test_value_planted_in_session_before_login_does_not_survive_it(
    client: FlaskClient, users: dict[str, User], login: Login, csrf: Csrf, passwords: dict[str, str]
) -> None:
    token = csrf(client)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie("session").value

    assert login(client, "ann", passwords["ann"], csrf_token=token).status_code == 302

    assert client.get_cookie("session").value != before
    with client.session_transaction() as session:
        assert "planted" not in session
    assert client.get("/private").status_code == 200


def test_cookie_from_before_login_is_not_logged_in(
    app: Flask,
    users: dict[str, User],
    login: Login,
    csrf: Csrf,
    passwords: dict[str, str],
    json_headers: dict[str, str],
) -> None:
    victim = app.test_client()
    token = csrf(victim)
    fixed = victim.get_cookie("session").value  # the cookie an attacker could have planted
    assert login(victim, "ann", passwords["ann"], csrf_token=token).status_code == 302

    attacker = app.test_client()
    attacker.set_cookie("session", fixed)
    assert attacker.get("/api/me", headers=json_headers).status_code == 401


OPEN_REDIRECTS = [
    "//evil.com",
    "///evil.com",
    "\\\\evil.com",
    "/\\evil.com",
    "\\/evil.com",
    "https://evil.com",
    "HTTPS://evil.com/private",
    "http:evil.com",
    "http:/evil.com",
    "javascript:alert(1)",
    " /x",
    "/\t/evil.com",
    "/\n/evil.com",
    "\t//evil.com",
    "evil.com",
    "private",
    "/%09/evil.com",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_login_with_unsafe_next_lands_on_the_default_page(
    app: Flask, users: dict[str, User], login: Login, passwords: dict[str, str], target: str
) -> None:
    response = login(app.test_client(), "ann", passwords["ann"], next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", [*OPEN_REDIRECTS[:-1], "/%09/evil.com", "/%5Cevil.com"])
def test_login_never_redirects_off_site(
    app: Flask, users: dict[str, User], login: Login, passwords: dict[str, str], target: str
) -> None:
    response = login(app.test_client(), "ann", passwords["ann"], next=target)
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\"))
    assert urlsplit(urljoin("http://localhost/auth/login", location)).netloc == "localhost"


@pytest.mark.parametrize("target", ["//evil.com", "https://evil.com", "/\\evil.com"])
def test_login_form_drops_unsafe_next_from_the_query(
    client: FlaskClient, target: str, html_headers: dict[str, str]
) -> None:
    page = client.get("/auth/login", query_string={"next": target}, headers=html_headers)
    assert 'name="next"' not in page.get_data(as_text=True)


def test_browser_is_sent_back_to_the_page_it_asked_for_after_login(
    client: FlaskClient,
    users: dict[str, User],
    passwords: dict[str, str],
    html_headers: dict[str, str],
) -> None:
    redirect = client.get("/private?x=1", headers=html_headers)
    assert redirect.status_code == 302
    form = client.get(redirect.headers["Location"], headers=html_headers).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|next)" value="([^"]*)"', form))
    assert fields["next"] == "/private?x=1"

    data = {**fields, "username": "bob", "password": passwords["bob"]}
    response = client.post("/auth/login", data=data, headers=html_headers)
    assert response.headers["Location"] == "/private?x=1"
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"x": ["1"]}
    assert client.get("/private?x=1").get_data(as_text=True) == "private page of bob"


@pytest.mark.parametrize("size", [1025, 1_000_000], ids=["over-1024-bytes", "1MB"])
def test_oversized_password_gets_400_before_hashing(
    client: FlaskClient, users: dict[str, User], csrf: Csrf, size: int
) -> None:
    data = {"csrf_token": csrf(client), "username": "ann", "password": "x" * size}
    started = time.perf_counter()
    response = client.post("/auth/login", data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    assert elapsed < 1.0


def test_oversized_user_name_is_a_failed_login(
    client: FlaskClient, users: dict[str, User], csrf: Csrf, generic_failure: str
) -> None:
    data = {"csrf_token": csrf(client), "username": "a" * 151, "password": "long-enough-pw"}
    response = client.post("/auth/login", data=data)
    assert response.status_code == 401
    assert generic_failure in response.get_data(as_text=True)


def test_user_name_with_nul_character_is_a_failed_login(
    request: pytest.FixtureRequest,
    client: FlaskClient,
    db: t.Any,
    users: dict[str, User],
    login: Login,
    generic_failure: str,
) -> None:
    response = login(client, "an\x00n", "wrong-password-123")
    assert response.status_code == 401
    assert generic_failure in response.get_data(as_text=True)
