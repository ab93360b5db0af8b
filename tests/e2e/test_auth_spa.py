"""Chromium runs a single-page app served from another origin (another port of
127.0.0.1: same site, other origin) against an API with auth and flask-plug-cors: it
logs in with JSON and the CSRF header, posts, and logs out.

Self-contained: the fixtures live here; the browser and the live server are the shared
plugin's (``testing/``).
"""

from __future__ import annotations

import importlib.util
import re
import secrets
import string
import sys
import typing as t
from pathlib import Path

import pytest
from flask import Flask, Response

from flask_plug.auth import Auth, current_user
from flask_plug.cors import CORS

pytestmark = pytest.mark.browser

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guides" / "spa.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)

USERNAME = "ada-spa"
PASSWORD = "correct horse battery staple"

SPA_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPA</title></head>
<body><p>single-page app</p>
<script>
async function call(url, options = {}) {
  const response = await fetch(url, {credentials: "include", ...options});
  const text = await response.text();
  return {status: response.status, body: text ? JSON.parse(text) : null};
}

async function run(api, username, password) {
  const steps = {};
  let token = (await call(api + "/auth/csrf")).body.csrf_token;
  const login = await call(api + "/auth/login", {
    method: "POST",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": token},
    body: JSON.stringify({username, password}),
  });
  steps.login = login.status;
  steps.user = login.body.user.username;
  steps.sameToken = login.body.csrf_token === token;
  token = login.body.csrf_token;
  steps.me = (await call(api + "/auth/me")).body;
  steps.post = await call(api + "/notes", {method: "POST", headers: {"X-CSRF-Token": token}});
  steps.postWithoutHeader = (await call(api + "/notes", {method: "POST"})).status;
  steps.logout = (await call(api + "/auth/logout", {
    method: "POST", headers: {"X-CSRF-Token": token},
  })).status;
  steps.afterLogout = await call(api + "/notes");
  return steps;
}

async function steal(api) {
  try {
    return await call(api + "/auth/csrf");
  } catch (error) {
    return "refused: " + error.name;
  }
}
</script>
</body></html>
"""


def _secret_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(40))


def _page_app() -> Flask:
    """A static host for the single-page app: it knows nothing of auth."""
    app = Flask(__name__)

    @app.get("/")
    def index() -> str:
        return SPA_PAGE

    return app


def _api_app(database: Path, spa_origin: str) -> tuple[Flask, Auth]:
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(),
        AUTH_DATABASE_URI=f"sqlite:///{database}",
        SESSION_COOKIE_SAMESITE="Lax",
        CORS_ORIGINS=[spa_origin],
        CORS_ALLOW_CREDENTIALS=True,
        CORS_ALLOW_HEADERS=["Content-Type", "X-CSRF-Token"],
    )
    auth = Auth(app)
    CORS(app)

    @app.route("/notes", methods=["GET", "POST"])
    @auth.csrf_protect
    @auth.login_required
    def notes() -> dict[str, t.Any]:
        assert current_user is not None
        return {"notes": [], "user": current_user.username}

    with app.app_context():
        auth.store.create_tables()
        auth.register_user(USERNAME, PASSWORD)
    return app, auth


@pytest.fixture
def spa_page(browser: t.Any) -> t.Iterator[t.Any]:
    context = browser.new_context()
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_spa_on_another_origin_logs_in_posts_and_logs_out(
    tmp_path: Path, live_server: t.Callable[[Flask], str], spa_page: t.Any
) -> None:
    spa = live_server(_page_app())
    stranger = live_server(_page_app())  # another origin, not allowed by CORS
    app, auth = _api_app(tmp_path / "auth.db", spa)
    api = live_server(app)
    assert spa != api

    try:
        spa_page.goto(spa + "/")
        steps = spa_page.evaluate("([api, u, p]) => run(api, u, p)", [api, USERNAME, PASSWORD])
        assert steps["login"] == 200
        assert steps["user"] == USERNAME
        assert steps["sameToken"] is False  # the session was renewed at login
        assert steps["me"]["username"] == USERNAME
        assert steps["post"] == {"status": 200, "body": {"notes": [], "user": USERNAME}}
        assert steps["postWithoutHeader"] == 400
        assert steps["logout"] == 204
        assert steps["afterLogout"]["status"] == 401
        assert steps["afterLogout"]["body"] == {"error": "authentication required"}

        # A page of an origin CORS does not allow cannot read a token.
        spa_page.goto(stranger + "/")
        assert spa_page.evaluate("(api) => steal(api)", api) == "refused: TypeError"
    finally:
        with app.app_context():
            auth.store.engine.dispose()


def _guide_blocks(language: str) -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == language]


def _collect(statement: str) -> str:
    """``results.push(<the statement's expression>);``, its ``;`` and comment dropped."""
    expression = re.sub(r";\s*(//.*)?$", "", statement)
    return f"results.push({expression});"


def _static_app(files: dict[str, tuple[str, str]]) -> Flask:
    """Serve ``{path: (mimetype, text)}``: what ``python -m http.server`` does for the guide."""
    app = Flask(__name__)

    def serve(path: str = "") -> Response:
        mimetype, text = files["/" + path]
        return Response(text, mimetype=mimetype)

    app.add_url_rule("/", view_func=serve)
    app.add_url_rule("/<path:path>", view_func=serve)
    return app


@pytest.mark.skipif(not GUIDE.exists(), reason="the docs are not in the sdist")
def test_the_spa_guide_runs_as_written(
    tmp_path: Path,
    live_server: t.Callable[[Flask], str],
    spa_page: t.Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guide's API, page, script and console session, with the test's free ports in
    place of 5000 and 5173."""
    (api_source,) = _guide_blocks("python")
    (html,) = _guide_blocks("html")
    script, console = _guide_blocks("javascript")
    files: dict[str, tuple[str, str]] = {}  # filled once the API's port is known
    spa = live_server(_static_app(files))

    (tmp_path / "api.py").write_text(api_source.replace("http://127.0.0.1:5173", spa))
    monkeypatch.setenv("SECRET_KEY", _secret_key())
    spec = importlib.util.spec_from_file_location("spa_guide_api", tmp_path / "api.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "spa_guide_api", module)
    spec.loader.exec_module(module)
    app: Flask = module.create_app()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["auth", "init-db"]).exit_code == 0
    created = runner.invoke(args=["auth", "create-user", "ann"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert created.exit_code == 0, created.output
    api = live_server(app)
    files["/"] = ("text/html", html)
    files["/spa.js"] = ("text/javascript", script.replace("http://127.0.0.1:5000", api))

    # The console session, each line's value collected: `const` lines run as they are.
    lines = console.replace("the password you chose", PASSWORD).strip().splitlines()
    body = [line if line.startswith("const ") else _collect(line) for line in lines]
    session = (
        "async () => { const results = [];\n" + "\n".join(body) + "\nreturn [user, ...results]; }"
    )
    try:
        spa_page.goto(spa + "/")
        assert spa_page.locator("#who").inner_text() == "Not logged in"
        user, saved, me, logged_out, after = spa_page.evaluate(session)
        assert user["username"] == "ann"
        assert saved == {"saved": "hello", "by": "ann"}
        assert me == user
        assert logged_out is None
        assert after == 401
        # Without the header the POST is refused.
        status = spa_page.evaluate(
            """async () => (await fetch(API + "/api/notes", {method: "POST",
                credentials: "include", headers: {"Content-Type": "application/json"},
                body: "{}"})).status"""
        )
        assert status == 400
    finally:
        with app.app_context():
            module.auth.store.engine.dispose()
