"""Scripts log in and out with JSON and the ``X-CSRF-Token`` header: ``/auth/csrf``,
JSON ``POST /auth/login``, ``/auth/me`` and the 204 answer of logout."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from flask_plug.auth import Auth, User, logged_in, login_failed
from flask_plug.auth.passwords import MAX_PASSWORD_BYTES

Login = t.Callable[..., t.Any]
Csrf = t.Callable[[FlaskClient], str]
JSON = {"Accept": "application/json"}


def script_csrf(client: FlaskClient) -> str:
    response = client.get("/auth/csrf")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    token = response.get_json()["csrf_token"]
    assert isinstance(token, str)
    assert token
    return token


def json_login(
    client: FlaskClient, username: str, password: str, *, token: str | None = None, **extra: t.Any
) -> t.Any:
    token = script_csrf(client) if token is None else token
    body = {"username": username, "password": password, **extra}
    return client.post("/auth/login", json=body, headers={"X-CSRF-Token": token})


def test_csrf_endpoint_answers_the_sessions_token(client: FlaskClient, csrf: Csrf) -> None:
    token = script_csrf(client)
    assert token == script_csrf(client)  # the same session, the same token
    assert token == csrf(client)  # the one the login form shows


def test_json_login_answers_the_user_and_a_new_token(
    client: FlaskClient, users: dict[str, User], passwords: dict[str, str]
) -> None:
    old = script_csrf(client)
    response = json_login(client, "ann", passwords["ann"], token=old)
    assert response.status_code == 200
    assert response.is_json
    body = response.get_json()
    assert body["user"] == {"id": users["ann"].id, "username": "ann", "roles": ["admin"]}
    new = body["csrf_token"]
    assert new != old
    assert client.get_cookie("session") is not None
    assert client.get("/private").get_data(as_text=True) == "private page of ann"

    # The session was cleared at login: the old token is dead, the new one works.
    assert client.post("/auth/logout", headers={"X-CSRF-Token": old}).status_code == 400
    assert client.get("/api/me", headers=JSON).status_code == 200
    assert script_csrf(client) == new
    assert client.post("/auth/logout", headers={"X-CSRF-Token": new}).status_code == 204
    assert client.get("/api/me", headers=JSON).status_code == 401


@pytest.mark.parametrize("remember", [True, False])
def test_json_login_remembers_when_asked(
    make_app: t.Callable[..., Flask], auth: Auth, passwords: dict[str, str], remember: bool
) -> None:
    app = make_app(AUTH_REMEMBER_DAYS=30)
    with app.app_context():
        auth.register_user("bob", passwords["bob"])
    client = app.test_client()
    assert json_login(client, "bob", passwords["bob"], remember=remember).status_code == 200
    assert (client.get_cookie("remember_token") is not None) is remember


@pytest.mark.parametrize(
    ("username", "password"),
    [("ann", "wrong-password-123"), ("nobody", "wrong-password-123"), ("ann", "")],
    ids=["wrong-password", "unknown-user", "empty-password"],
)
def test_failed_json_login_is_401_with_the_generic_message(
    client: FlaskClient,
    users: dict[str, User],
    generic_failure: str,
    username: str,
    password: str,
) -> None:
    response = json_login(client, username, password)
    assert response.status_code == 401
    assert response.get_json() == {"error": generic_failure}
    assert client.get("/api/me", headers=JSON).status_code == 401


def test_json_login_is_throttled_like_the_form(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    passwords: dict[str, str],
    generic_failure: str,
) -> None:
    app = make_app(AUTH_MAX_FAILURES=2)
    with app.app_context():
        auth.register_user("ann", passwords["ann"])
    client = app.test_client()
    reasons: list[str] = []

    def record(sender: Flask, username: str, reason: str) -> None:
        reasons.append(reason)

    with login_failed.connected_to(record, app):
        for _ in range(2):
            assert json_login(client, "ann", "wrong-password-123").status_code == 401
        response = json_login(client, "ann", passwords["ann"])
    assert response.status_code == 429
    assert response.get_json() == {"error": generic_failure}
    assert int(response.headers["Retry-After"]) >= 1
    assert reasons == ["credentials", "credentials", "throttled"]


def test_json_login_sends_logged_in(
    app: Flask, users: dict[str, User], passwords: dict[str, str]
) -> None:
    seen: list[str] = []

    def record(sender: Flask, user: User) -> None:
        seen.append(user.username)

    with logged_in.connected_to(record, app):
        assert json_login(app.test_client(), "ann", passwords["ann"]).status_code == 200
    assert seen == ["ann"]


@pytest.mark.parametrize("token", [None, "", "forged.token"], ids=["missing", "empty", "wrong"])
def test_json_login_needs_the_csrf_header(
    client: FlaskClient, users: dict[str, User], passwords: dict[str, str], token: str | None
) -> None:
    script_csrf(client)
    headers = {} if token is None else {"X-CSRF-Token": token}
    body = {"username": "ann", "password": passwords["ann"]}
    response = client.post("/auth/login", json=body, headers=headers)
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert client.get("/api/me", headers=JSON).status_code == 401


def test_json_login_does_not_take_the_token_from_the_body(
    client: FlaskClient, users: dict[str, User], passwords: dict[str, str]
) -> None:
    body = {"username": "ann", "password": passwords["ann"], "csrf_token": script_csrf(client)}
    assert client.post("/auth/login", json=body).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"null",
        b"[]",
        b'"ann"',
        b"{}",
        b'{"username": "ann"}',
        b'{"password": "x"}',
        b'{"username": 1, "password": "x"}',
        b'{"username": "ann", "password": ["x"]}',
        b'{"username": "ann", "password": "x", "remember": "yes"}',
        b'{"username": "ann", "password": "x", "remember": NaN}',
        b"\xff\xfe",
        b'{"username": "ann", "password": "\\ud800"}',
        b'{"username": "\\udfff", "password": "x"}',
        b"[" * 5_000,  # deeper than Python's recursion limit
        b"[" * 100_000,
    ],
)
def test_malformed_json_login_is_400_json(
    client: FlaskClient, users: dict[str, User], body: bytes
) -> None:
    token = script_csrf(client)
    response = client.post(
        "/auth/login",
        data=body,
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.is_json
    assert isinstance(response.get_json()["error"], str)


def test_huge_password_is_400_before_hashing(client: FlaskClient, users: dict[str, User]) -> None:
    response = json_login(client, "ann", "x" * (MAX_PASSWORD_BYTES + 1))
    assert response.status_code == 400
    assert response.is_json


def test_huge_json_body_is_400(client: FlaskClient, users: dict[str, User]) -> None:
    response = json_login(client, "ann", "x", padding="y" * 1_000_000)
    assert response.status_code == 400
    assert response.is_json


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
login_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"username": json_values, "password": json_values},
        optional={"remember": json_values},
    ),
    st.fixed_dictionaries(
        {"username": st.text(max_size=200), "password": st.text(max_size=300)},
        optional={"remember": st.booleans()},
    ),
)


def test_random_json_bodies_never_500(app: Flask, users: dict[str, User]) -> None:
    client = app.test_client()
    token = script_csrf(client)

    @settings(
        max_examples=80,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(body=login_bodies)
    @example(body={"username": "ann", "password": "wrong-password-123"})
    def post(body: t.Any) -> None:
        data = json.dumps(body)  # NaN and Infinity too: Python writes them
        response = client.post(
            "/auth/login",
            data=data,
            headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
        )
        assert response.status_code in (400, 401, 429), response.get_data(as_text=True)
        assert response.is_json
        assert isinstance(response.get_json()["error"], str)

    post()


def test_me_answers_the_user(
    logged_in: t.Callable[[str], FlaskClient], users: dict[str, User]
) -> None:
    response = logged_in("bob").get("/auth/me")
    assert response.status_code == 200
    assert response.get_json() == {"id": users["bob"].id, "username": "bob", "roles": []}
    assert "no-store" in response.headers["Cache-Control"]


def test_me_with_a_token(app: Flask, auth: Auth, users: dict[str, User]) -> None:
    with app.app_context():
        token = auth.create_token(users["ann"])
    response = app.test_client().get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["username"] == "ann"


def test_me_without_login_is_the_401_json(client: FlaskClient) -> None:
    response = client.get("/auth/me", headers=JSON)
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_form_logout_still_redirects(
    logged_in: t.Callable[[str], FlaskClient], csrf: Csrf, html_headers: dict[str, str]
) -> None:
    client = logged_in("ann")
    response = client.post("/auth/logout", data={"csrf_token": csrf(client)}, headers=html_headers)
    assert response.status_code == 302


def test_form_fields_and_header_both_work_for_logout_forms(
    logged_in: t.Callable[[str], FlaskClient], csrf: Csrf
) -> None:
    client = logged_in("ann")
    response = client.post("/auth/logout", headers={"X-CSRF-Token": csrf(client)})
    assert response.status_code == 204
    assert response.get_data() == b""
    assert client.get("/api/me", headers=JSON).status_code == 401


def test_script_logout_everywhere_is_204(
    logged_in: t.Callable[[str], FlaskClient], csrf: Csrf
) -> None:
    here, there = logged_in("ann"), logged_in("ann")
    response = here.post("/auth/logout-everywhere", headers={"X-CSRF-Token": csrf(here)})
    assert response.status_code == 204
    assert here.get("/api/me", headers=JSON).status_code == 200
    assert there.get("/api/me", headers=JSON).status_code == 401


def test_script_logout_everywhere_without_login_is_the_401_json(client: FlaskClient) -> None:
    response = client.post("/auth/logout-everywhere", headers={"X-CSRF-Token": script_csrf(client)})
    assert response.status_code == 401
    assert response.get_json() == {"error": "authentication required"}


def test_script_logout_with_a_bad_header_is_400_json(
    logged_in: t.Callable[[str], FlaskClient],
) -> None:
    client = logged_in("ann")
    response = client.post("/auth/logout", headers={"X-CSRF-Token": "forged"})
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert client.get("/api/me", headers=JSON).status_code == 200
