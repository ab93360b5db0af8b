"""The README's examples run as written, and their apps answer what the README shows.

A block right after ``<!-- example: NAME -->`` is named. Each ``python`` block runs as the
body of a module of its own, as a file pasted from the README would. The ``text`` and
``json`` blocks are what the apps are checked against; the quick start's ``javascript``
block runs in Chromium in ``test_browser.py``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import types
import typing as t
from contextlib import closing
from pathlib import Path

import pytest

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

FRONTEND = "https://app.example.com"


def run(code: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """Run ``code`` as the module ``app``, as a reader who saved it as app.py would."""
    module = types.ModuleType("app")
    monkeypatch.setitem(sys.modules, "app", module)
    exec(compile(code, "<README example>", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__


Example = t.Callable[[str], str]


def quick_start(readme_example: Example, monkeypatch: pytest.MonkeyPatch) -> Flask:
    app: Flask = run(readme_example("quickstart"), monkeypatch)["create_app"]()
    return app


def preflight(client: FlaskClient, path: str, headers: str, **environ: str) -> TestResponse:
    environ = {
        "HTTP_ORIGIN": FRONTEND,
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": headers,
        **environ,
    }
    return client.options(path, environ_overrides=environ)


def test_every_example_is_named_and_checked_here(
    readme_examples: list[tuple[str, str, str]],
) -> None:
    names = [(name, language) for name, language, _ in readme_examples if name]
    assert names == [
        ("quickstart", "python"),
        ("quickstart-fetch", "javascript"),
        ("origins-function", "python"),
        ("resources", "python"),
        ("refusal-text", "text"),
        ("refusal-problem", "json"),
    ]
    unnamed = [language for name, language, _ in readme_examples if not name]
    assert unnamed == ["console"]


def test_quick_start_lets_the_front_end_send_cookies_and_a_token(
    readme_example: Example, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = quick_start(readme_example, monkeypatch).test_client()
    # What the browser sends before the fetch of the quick start: a preflight, for the
    # Authorization header.
    allowed = preflight(client, "/api/notes", "authorization")
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert allowed.headers["Access-Control-Allow-Credentials"] == "true"
    assert allowed.headers["Access-Control-Allow-Headers"] == "authorization"

    client.set_cookie("session", "s1", domain="localhost")
    response = client.get(
        "/api/notes", headers={"Origin": FRONTEND, "Authorization": "Bearer t0k3n"}
    )
    assert response.json == {"notes": [], "cookie": True, "token": "Bearer t0k3n"}
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Vary"] == "Origin"

    status = client.get("/api/status", headers={"Origin": "https://anyone.example.net"})
    assert status.json == {"ok": True}
    assert status.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in status.headers

    other = client.get("/api/notes", headers={"Origin": "https://evil.example.net"})
    assert "Access-Control-Allow-Origin" not in other.headers


def test_refusals_read_as_shown(readme_example: Example, monkeypatch: pytest.MonkeyPatch) -> None:
    client = quick_start(readme_example, monkeypatch).test_client()
    text = preflight(client, "/api/notes", "authorization, x-debug")
    assert text.status_code == 403
    assert text.get_data(as_text=True) == readme_example("refusal-text")
    problem = preflight(client, "/api/notes", "x-debug", HTTP_ACCEPT="application/json")
    assert problem.status_code == 403
    assert problem.content_type == "application/problem+json"
    assert problem.json == json.loads(readme_example("refusal-problem"))


def test_origins_function_asks_the_tenant_table(
    readme_example: Example,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    with closing(sqlite3.connect("tenants.db")) as db, db:
        db.execute("CREATE TABLE tenants (front_end_origin TEXT PRIMARY KEY)")
        db.execute("INSERT INTO tenants VALUES ('https://acme.example.com')")
    app: Flask = run(readme_example("origins-function"), monkeypatch)["app"]
    client = app.test_client()

    def allowed(origin: str) -> str | None:
        response = client.get("/api/notes", headers={"Origin": origin})
        assert response.json == {"notes": []}
        assert response.headers["Vary"] == "Origin"
        return response.headers.get("Access-Control-Allow-Origin")

    assert allowed("https://acme.example.com") == "https://acme.example.com"
    assert allowed(FRONTEND) == FRONTEND
    assert allowed("https://globex.example.com") is None

    # The table is gone: refused, one error logged, and no 500.
    (tmp_path / "tenants.db").unlink()
    with caplog.at_level(logging.ERROR):
        assert allowed("https://initech.example.com") is None
        assert allowed("https://umbrella.example.com") is None
    assert [r.getMessage().split(";")[0] for r in caplog.records] == [
        "CORS: the origins function is_tenant_front_end raised OperationalError:"
        " no such table: tenants"
    ]
    assert allowed("https://acme.example.com") == "https://acme.example.com"  # cached


def test_resources_example(readme_example: Example, monkeypatch: pytest.MonkeyPatch) -> None:
    app: Flask = run(readme_example("resources"), monkeypatch)["app"]
    app.add_url_rule("/api/public/status", "status", lambda: "ok")
    app.add_url_rule("/api/notes", "notes", lambda: "notes")
    app.add_url_rule("/v2/export", "export", lambda: "export", methods=["POST"])
    client = app.test_client()
    anyone = {"Origin": "https://anyone.example.net"}
    public = client.get("/api/public/status", headers=anyone)
    assert public.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Origin" not in client.get("/api/notes", headers=anyone).headers
    front = client.get("/api/notes", headers={"Origin": FRONTEND})
    assert front.headers["Access-Control-Allow-Origin"] == FRONTEND
    # The pattern's rule sets only max_age, and the app lists no origins: CORS is off there.
    export = preflight(client, "/v2/export", "", HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in export.headers
