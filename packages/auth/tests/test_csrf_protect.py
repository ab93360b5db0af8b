"""``auth.csrf_protect`` and ``check_csrf`` guard the app's own views; ``roles_required``
answers programs with JSON."""

from __future__ import annotations

import asyncio
import base64
import typing as t

import pytest
from flask import Blueprint, Flask
from flask.testing import FlaskClient

from flask_plug.auth import Auth, User, check_csrf

from .conftest import AppFactory

Csrf = t.Callable[[FlaskClient], str]
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]


@pytest.fixture
def app(make_app: AppFactory, auth: Auth) -> Flask:
    app = make_app()

    @app.route("/notes", methods=["GET", *UNSAFE])
    @auth.csrf_protect
    def notes() -> str:
        return "done"

    @app.route("/async/notes", methods=["GET", *UNSAFE])
    @auth.csrf_protect
    async def async_notes() -> str:
        await asyncio.sleep(0)
        return "async done"

    @app.post("/private/notes")
    @auth.csrf_protect
    @auth.login_required
    def private_notes() -> dict[str, str]:
        return {"saved": "yes"}

    bp = Blueprint("protected", __name__, url_prefix="/bp")
    bp.before_request(check_csrf)

    @bp.route("/thing", methods=["GET", "POST"])
    def thing() -> str:
        return "bp done"

    app.register_blueprint(bp)
    return app


@pytest.mark.parametrize("path", ["/notes", "/async/notes", "/bp/thing"])
def test_safe_methods_need_no_token(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 200
    assert client.head(path).status_code == 200


@pytest.mark.parametrize("method", UNSAFE)
@pytest.mark.parametrize("path", ["/notes", "/async/notes"])
def test_unsafe_methods_need_the_token(
    client: FlaskClient, csrf: Csrf, method: str, path: str
) -> None:
    token = csrf(client)
    assert client.open(path, method=method).status_code == 400
    assert client.open(path, method=method, headers={"X-CSRF-Token": "x"}).status_code == 400
    header = client.open(path, method=method, headers={"X-CSRF-Token": token})
    assert header.status_code == 200
    assert header.get_data(as_text=True).endswith("done")
    field = client.open(path, method=method, data={"csrf_token": token})
    assert field.status_code == 200


def test_another_sessions_token_is_refused(app: Flask, csrf: Csrf) -> None:
    victim, attacker = app.test_client(), app.test_client()
    csrf(victim)
    response = victim.post("/notes", headers={"X-CSRF-Token": csrf(attacker)})
    assert response.status_code == 400


def test_a_blueprint_is_protected_by_check_csrf(client: FlaskClient, csrf: Csrf) -> None:
    assert client.post("/bp/thing").status_code == 400
    response = client.post("/bp/thing", headers={"X-CSRF-Token": csrf(client)})
    assert response.get_data(as_text=True) == "bp done"


def test_programs_get_json_browsers_html(client: FlaskClient, csrf: Csrf) -> None:
    csrf(client)
    program = client.post("/notes", headers=JSON)
    assert program.status_code == 400
    assert isinstance(program.get_json()["error"], str)
    browser = client.post("/notes", data={"csrf_token": "nope"}, headers=HTML)
    assert browser.status_code == 400
    assert browser.mimetype == "text/html"


def test_a_logged_in_cookie_does_not_pass_without_the_token(
    logged_in: t.Callable[[str], FlaskClient], csrf: Csrf
) -> None:
    client = logged_in("ann")
    assert client.post("/private/notes").status_code == 400
    response = client.post("/private/notes", headers={"X-CSRF-Token": csrf(client)})
    assert response.get_json() == {"saved": "yes"}


def test_requests_with_authorization_are_exempt(
    app: Flask, auth: Auth, users: dict[str, User], logged_in: t.Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        token = auth.create_token(users["bob"])
    client = app.test_client()
    response = client.post("/private/notes", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json() == {"saved": "yes"}

    # A cookie with a wrong Authorization header: the exemption lets the request in, but
    # auth does not fall back to the cookie, so nobody is logged in.
    cookie = logged_in("ann")
    response = cookie.post("/private/notes", headers={"Authorization": "Bearer wrong", **JSON})
    assert response.status_code == 401


def test_an_empty_authorization_header_is_not_exempt(
    logged_in: t.Callable[[str], FlaskClient],
) -> None:
    """auth reads the cookie when ``Authorization`` is empty, so the check must run; and a
    browser replays HTTP Basic credentials typed into its prompt, so Basic is not exempt."""
    client = logged_in("ann")
    assert client.post("/private/notes", headers={"Authorization": ""}).status_code == 400


def test_http_basic_is_not_exempt(
    make_app: t.Callable[..., Flask], auth: Auth, passwords: dict[str, str]
) -> None:
    """A browser replays Basic credentials the user typed into its own prompt, on requests
    other sites make too: a Basic-authenticated request needs the token like a cookie."""
    app = make_app(AUTH_API_BASIC=True)

    @app.post("/private/notes")
    @auth.csrf_protect
    @auth.login_required
    def private_notes() -> str:
        return "saved"

    with app.app_context():
        auth.register_user("ann", passwords["ann"])
    credentials = base64.b64encode(f"ann:{passwords['ann']}".encode()).decode()
    basic = {"Authorization": f"Basic {credentials}"}
    client = app.test_client()
    assert client.get("/private", headers=basic).status_code == 200  # Basic works
    assert client.post("/private/notes", headers=basic).status_code == 400


def test_the_decorator_leaves_metadata(app: Flask) -> None:
    assert app.view_functions["notes"].__flask_plug__ == {"auth": {"csrf": True}}
    assert app.view_functions["private_notes"].__flask_plug__ == {
        "auth": {"csrf": True, "login_required": True, "roles": [], "scopes": []}
    }


def test_check_csrf_outside_an_app_with_auth() -> None:
    """The check needs a session, not auth: any app with a ``SECRET_KEY`` can use it."""
    app = Flask(__name__)
    app.secret_key = "x" * 40
    app.post("/")(lambda: "ok")
    app.before_request(check_csrf)
    assert app.test_client().post("/").status_code == 400


def test_roles_required_answers_programs_with_json(
    logged_in: t.Callable[[str], FlaskClient],
) -> None:
    client = logged_in("bob")
    program = client.get("/admin", headers=JSON)
    assert program.status_code == 403
    assert program.get_json() == {"error": "forbidden", "roles": ["admin"]}
    browser = client.get("/admin", headers=HTML)
    assert browser.status_code == 403
    assert browser.mimetype == "text/html"


def test_async_roles_required_answers_programs_with_json(
    app: Flask, auth: Auth, logged_in: t.Callable[[str], FlaskClient]
) -> None:
    @app.get("/async/editors")
    @auth.roles_required("editor", "admin")
    async def editors() -> str:
        return "editors"

    response = logged_in("bob").get("/async/editors", headers=JSON)
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden", "roles": ["admin", "editor"]}
