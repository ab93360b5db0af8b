"""auth's own pages cannot be framed, sniffed, cached or leak their address."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask, after_this_request, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_plug.auth import User

Login = t.Callable[..., t.Any]
Csrf = t.Callable[[FlaskClient], str]
WRONG = "wrong-password-123"
EXPECTED = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def assert_protected(response: t.Any) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.getlist(name) == [value], name


def test_login_form_is_protected(client: FlaskClient, html_headers: dict[str, str]) -> None:
    response = client.get("/auth/login", headers=html_headers)
    assert response.status_code == 200
    assert_protected(response)


def test_login_form_with_next_is_protected(
    client: FlaskClient, html_headers: dict[str, str]
) -> None:
    response = client.get("/auth/login?next=/private", headers=html_headers)
    assert response.status_code == 200
    assert_protected(response)


def test_successful_login_redirect_is_protected(
    client: FlaskClient, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    response = login(client, "ann", passwords["ann"], next="/private")
    assert response.status_code == 302
    assert response.headers["Location"] == "/private"
    assert_protected(response)


def test_failed_login_is_protected(
    client: FlaskClient, users: dict[str, User], login: Login
) -> None:
    response = login(client, "ann", WRONG)
    assert response.status_code == 401
    assert_protected(response)


def test_bad_csrf_token_400_is_protected(client: FlaskClient, users: dict[str, User]) -> None:
    response = client.post(
        "/auth/login", data={"csrf_token": "forged", "username": "ann", "password": WRONG}
    )
    assert response.status_code == 400
    assert_protected(response)


def test_too_long_password_400_is_protected(client: FlaskClient, csrf: Csrf) -> None:
    data = {"csrf_token": csrf(client), "username": "ann", "password": "x" * 1025}
    response = client.post("/auth/login", data=data)
    assert response.status_code == 400
    assert_protected(response)


def test_lockout_429_is_protected(
    make_app: t.Callable[..., Flask],
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    client = make_app(AUTH_MAX_FAILURES=2).test_client()
    for _ in range(2):
        login(client, "ann", WRONG)
    response = login(client, "ann", passwords["ann"])
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert_protected(response)


def test_logout_redirect_is_protected(
    logged_in: t.Callable[[str], FlaskClient], csrf: Csrf
) -> None:
    client = logged_in("ann")
    response = client.post("/auth/logout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert_protected(response)


def test_logout_everywhere_redirect_and_401_are_protected(
    client: FlaskClient, logged_in: t.Callable[[str], FlaskClient], csrf: Csrf
) -> None:
    anonymous = client.post("/auth/logout-everywhere", data={"csrf_token": csrf(client)})
    assert anonymous.status_code == 401
    assert_protected(anonymous)
    ann = logged_in("ann")
    response = ann.post("/auth/logout-everywhere", data={"csrf_token": csrf(ann)})
    assert response.status_code == 302
    assert_protected(response)


def test_the_apps_own_pages_are_left_alone(
    client: FlaskClient, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    public = client.get("/")
    redirected = client.get("/private", headers={"Accept": "text/html"})
    assert redirected.status_code == 302
    login(client, "ann", passwords["ann"])
    private = client.get("/private")
    for response in (public, redirected, private):
        for name in ("Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"):
            assert name not in response.headers
        assert "X-Content-Type-Options" not in response.headers
    assert "Cache-Control" not in public.headers


@pytest.fixture
def preset(app: Flask) -> dict[str, str]:
    """Headers the app puts on every response before auth's own are added; fill it in."""
    headers: dict[str, str] = {}

    @app.before_request
    def add_headers() -> None:
        @after_this_request
        def add(response: t.Any) -> t.Any:
            if request.path != "/":
                response.headers.update(headers)
            return response

    return headers


def test_a_csp_the_app_set_keeps_its_directives_and_gains_frame_ancestors(
    client: FlaskClient, preset: dict[str, str]
) -> None:
    preset["Content-Security-Policy"] = "default-src 'self'; script-src 'self';"
    response = client.get("/auth/login")
    assert response.headers.getlist("Content-Security-Policy") == [
        "default-src 'self'; script-src 'self'; frame-ancestors 'none'"
    ]


def test_frame_ancestors_the_app_set_wins(client: FlaskClient, preset: dict[str, str]) -> None:
    preset["Content-Security-Policy"] = "default-src 'self'; Frame-Ancestors 'self'"
    preset["X-Frame-Options"] = "SAMEORIGIN"
    preset["Referrer-Policy"] = "no-referrer"
    response = client.get("/auth/login")
    assert response.headers.getlist("Content-Security-Policy") == [
        "default-src 'self'; Frame-Ancestors 'self'"
    ]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_a_cacheable_response_is_made_no_store(client: FlaskClient, preset: dict[str, str]) -> None:
    preset["Cache-Control"] = "public, max-age=3600"
    assert client.get("/auth/login").headers.getlist("Cache-Control") == ["no-store"]
    preset["Cache-Control"] = "private, no-store"
    assert client.get("/auth/login").headers.getlist("Cache-Control") == ["private, no-store"]


DIRECTIVES = ["default-src", "script-src", "style-src", "img-src", "frame-ancestors", "sandbox"]
SOURCES = ["'self'", "'none'", "https:", "data:", "https://example.com", "'unsafe-inline'"]
directive = st.tuples(
    st.sampled_from(DIRECTIVES), st.lists(st.sampled_from(SOURCES), max_size=3)
).map(lambda d: " ".join([d[0].upper() if len(d[1]) == 1 else d[0], *d[1]]))
policy = st.builds(
    lambda parts, ending, spaces: (";" + " " * spaces).join(parts) + ending,
    st.lists(directive, min_size=1, max_size=5),
    st.sampled_from(["", ";", "; ", " "]),
    st.integers(0, 2),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(existing=policy)
def test_any_preset_policy_ends_up_with_exactly_one_frame_ancestors(
    app: Flask, preset: dict[str, str], existing: str
) -> None:
    preset["Content-Security-Policy"] = existing
    response = app.test_client().get("/auth/login")
    assert response.status_code == 200
    (sent,) = response.headers.getlist("Content-Security-Policy")
    names = [part.split()[0].lower() for part in sent.split(";") if part.strip()]
    assert names.count("frame-ancestors") >= 1
    if "frame-ancestors" in existing.lower():
        assert sent == existing
    else:
        assert names.count("frame-ancestors") == 1
        assert sent.startswith(existing.rstrip("; "))
        assert sent.endswith("frame-ancestors 'none'")
