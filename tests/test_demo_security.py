"""The demo's own defences: private instance files, a content security policy on its
pages, and a fresh password before an API token is made."""

from __future__ import annotations

import re
import stat
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from flask_plug_demo import close_app, create_app

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = ["/", "/cors"]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def fresh_instance(tmp_path: Path) -> t.Iterator[Flask]:
    """The demo on an instance folder it creates itself, under a permissive umask."""
    import os

    old = os.umask(0o022)
    try:
        app = create_app({"TESTING": True}, instance_path=str(tmp_path / "instance"))
    finally:
        os.umask(old)
    yield app
    close_app(app)


def test_instance_folder_and_its_files_are_private(fresh_instance: Flask) -> None:
    instance = Path(fresh_instance.instance_path)
    assert mode(instance) == 0o700
    for name in ("secret_key", "first-run-passwords.txt", "auth.db", "access.log"):
        assert mode(instance / name) == 0o600, name


def test_an_existing_open_instance_folder_is_closed(tmp_path: Path) -> None:

    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    instance.chmod(0o755)
    app = create_app({"TESTING": True}, instance_path=str(instance))
    close_app(app)
    assert mode(instance) == 0o700


@pytest.mark.parametrize("path", PAGES)
def test_demo_pages_have_a_strict_content_security_policy(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[directive]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Nothing inline that the policy would block.
    html = response.get_data(as_text=True)
    assert "<style" not in html and " style=" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert " onclick=" not in html


def test_json_api_is_left_to_its_own_headers(client: FlaskClient) -> None:
    assert "Content-Security-Policy" not in client.get("/api/notes").headers


def _login(client: FlaskClient, app: Flask) -> None:
    password = next(
        line.split()[1]
        for line in Path(app.instance_path, "first-run-passwords.txt").read_text().splitlines()
        if line.split()[:1] == ["demo"]
    )
    form = client.get("/auth/login").get_data(as_text=True)
    response = client.post(
        "/auth/login",
        data={"username": "demo", "password": password, "csrf_token": CSRF_FIELD.search(form)[1]},
    )
    assert response.status_code == 302


def _account_form(client: FlaskClient) -> str:
    page = client.get("/account").get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match
    return match[1]


def test_creating_a_token_asks_for_the_password_again(app: Flask, client: FlaskClient) -> None:
    _login(client, app)
    token = _account_form(client)
    without = client.post("/account", data={"csrf_token": token, "name": "x"})
    assert without.status_code == 400
    assert 'id="token"' not in without.get_data(as_text=True)

    wrong = client.post("/account", data={"csrf_token": token, "name": "x", "password": "nope"})
    assert wrong.status_code == 400
    assert 'id="token"' not in wrong.get_data(as_text=True)
    assert "password" in wrong.get_data(as_text=True).lower()

    password = next(
        line.split()[1]
        for line in Path(app.instance_path, "first-run-passwords.txt").read_text().splitlines()
        if line.split()[:1] == ["demo"]
    )
    right = client.post("/account", data={"csrf_token": token, "name": "x", "password": password})
    assert right.status_code == 200
    assert 'id="token"' in right.get_data(as_text=True)


def test_wrong_token_passwords_count_towards_the_lockout(app: Flask, client: FlaskClient) -> None:
    _login(client, app)
    token = _account_form(client)
    statuses = [
        client.post(
            "/account", data={"csrf_token": token, "name": "x", "password": f"guess-{i}"}
        ).status_code
        for i in range(7)
    ]
    assert statuses[:5] == [400] * 5
    assert statuses[5:] == [429, 429]


def _demo_password(app: Flask) -> str:
    return next(
        line.split()[1]
        for line in Path(app.instance_path, "first-run-passwords.txt").read_text().splitlines()
        if line.split()[:1] == ["demo"]
    )


def _make_token(client: FlaskClient, app: Flask, *scopes: str) -> tuple[int, str]:
    data = {"csrf_token": _account_form(client), "name": "x", "password": _demo_password(app)}
    response = client.post("/account", data={**data, "scope": list(scopes)})
    page = response.get_data(as_text=True)
    match = re.search(r'<pre id="token">([^<]+)</pre>', page)
    return response.status_code, match[1] if match else page


def test_the_account_page_offers_both_scopes_ticked(app: Flask, client: FlaskClient) -> None:
    _login(client, app)
    page = client.get("/account").get_data(as_text=True)
    for scope in ("notes:read", "notes:write"):
        assert re.search(rf'name="scope" value="{scope}"\s+checked>', page), page


def test_a_token_can_do_what_its_scopes_allow_and_no_more(app: Flask, client: FlaskClient) -> None:
    _login(client, app)
    status, reader = _make_token(client, app, "notes:read")
    assert status == 200
    status, writer = _make_token(client, app, "notes:write")
    assert status == 200
    status, neither = _make_token(client, app)
    assert status == 200

    api = app.test_client()
    note = {"title": "scoped"}
    for token in (reader, neither):
        refused = api.post("/api/notes", json=note, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 403
        assert refused.get_json() == {"error": "insufficient_scope", "scopes": ["notes:write"]}
        challenge = refused.headers["WWW-Authenticate"]
        assert 'error="insufficient_scope", scope="notes:write"' in challenge
    written = api.post("/api/notes", json=note, headers={"Authorization": f"Bearer {writer}"})
    assert written.status_code == 201

    assert api.get("/notes", headers={"Authorization": f"Bearer {reader}"}).status_code == 200
    for token in (writer, neither):
        page = api.get("/notes", headers={"Authorization": f"Bearer {token}"})
        assert page.status_code == 403
        assert page.get_json()["scopes"] == ["notes:read"]
    # The login session is the user's own: scopes do not limit it.
    assert client.post("/api/notes", json=note).status_code == 201
    assert client.get("/notes").status_code == 200


@pytest.mark.parametrize("scopes", [["admin"], ["notes:read", "notes write"], ["x" * 500]])
def test_a_scope_not_offered_is_refused_without_a_token(
    app: Flask, client: FlaskClient, scopes: list[str]
) -> None:
    from flask_plug_demo.extensions import auth

    _login(client, app)
    status, page = _make_token(client, app, *scopes)
    assert status == 400
    assert "Choose scopes from the list." in page
    with app.test_request_context():
        [user] = [u for u in auth.store.list_users() if u.username == "demo"]
        assert auth.store.tokens(user.id) == []
