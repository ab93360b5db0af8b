"""The pages' assets: the files the two UIs load and nothing else, each sent with headers
that keep a browser from loading anything from elsewhere, sniffing a type or framing it."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask

import flask_plug.apidocs
from flask_plug.apidocs import APIDocs
from flask_plug.apidocs.views import REDOC, SWAGGER_UI

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.wrappers import Response

OWN_STATIC = Path(flask_plug.apidocs.__file__).parent / "static"

# Every file a page loads, by URL, with the type it must be sent as.
NEEDED = {
    "/docs/_static/swagger/swagger-ui.css": "text/css",
    "/docs/_static/swagger/swagger-ui-bundle.js": "text/javascript",
    "/docs/_static/swagger/swagger-ui-standalone-preset.js": "text/javascript",
    "/docs/_static/swagger/favicon-32x32.png": "image/png",
    "/docs/_static/redoc/redoc.standalone.js": "text/javascript",
    "/docs/_static/redoc/logo-mini.svg": "image/svg+xml",
    "/docs/_static/apidocs/swagger-init.js": "text/javascript",
    "/docs/_static/apidocs/redoc-init.js": "text/javascript",
}
PAGES = ["/docs/", "/docs/redoc"]
# Where each route's files come from, and the folder above it (reachable by '..').
FOLDERS = {"swagger": SWAGGER_UI, "redoc": REDOC, "apidocs": OWN_STATIC}
# What a page may name as a source: nothing that is another origin, and no script that is
# not a file of this app.
ALLOWED_SOURCES = {"'self'", "'none'", "'unsafe-inline'", "data:", "blob:"}


@pytest.fixture
def client() -> FlaskClient:
    app = Flask(__name__)
    APIDocs(app, title="Assets")
    app.add_url_rule("/health", "health", lambda: "ok")
    return app.test_client()


def get(client: FlaskClient, url: str) -> Response:
    """The response to ``GET url``, read whole and closed (a file response holds the file)."""
    with client.get(url) as response:
        response.get_data()
        return response


def policy(header: str) -> dict[str, list[str]]:
    directives = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in directives}


def assert_guarded(response: t.Any) -> None:
    """The headers every page and asset of the docs carries."""
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    directives = policy(response.headers["Content-Security-Policy"])
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'self'"]
    assert directives["base-uri"] == ["'none'"]
    for name, sources in directives.items():
        assert set(sources) <= ALLOWED_SOURCES, name


@pytest.mark.parametrize("url", PAGES)
def test_pages_carry_the_policy(client: FlaskClient, url: str) -> None:
    response = get(client, url)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert_guarded(response)


def test_pages_load_only_the_needed_assets(client: FlaskClient) -> None:
    named = set()
    for url in PAGES:
        html = get(client, url).get_data(as_text=True)
        named |= {url for url in NEEDED if f'"{url}"' in html}
    assert named == set(NEEDED)


@pytest.mark.parametrize("url", sorted(NEEDED))
def test_each_needed_asset_is_served_with_its_type_and_the_policy(
    client: FlaskClient, url: str
) -> None:
    response = get(client, url)
    assert response.status_code == 200
    assert response.mimetype in {NEEDED[url], "application/javascript"}
    assert response.get_data()
    assert_guarded(response)


def vendored() -> list[tuple[str, str]]:
    """Every file under each asset folder and the folder above it, as (route, relative
    path): what a route that served whatever it was asked for would give away."""
    files = []
    for route, folder in FOLDERS.items():
        for path in sorted(folder.parent.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            if folder in path.parents:
                relative = path.relative_to(folder)
            else:
                relative = Path("..", path.relative_to(folder.parent))
            files.append((route, relative.as_posix()))
    return files


NOT_NEEDED = [
    (route, name) for route, name in vendored() if f"/docs/_static/{route}/{name}" not in NEEDED
]


def test_the_sample_pages_are_among_the_files_checked() -> None:
    assert ("redoc", "index.html") in NOT_NEEDED
    assert ("swagger", "oauth2-redirect.html") in NOT_NEEDED
    assert ("swagger", "swagger-ui.js") in NOT_NEEDED


@pytest.mark.parametrize(("route", "name"), NOT_NEEDED, ids=[f"{r}/{n}" for r, n in NOT_NEEDED])
def test_every_other_vendored_file_answers_404(client: FlaskClient, route: str, name: str) -> None:
    encoded = name.replace("/", "%2f")
    for url in {f"/docs/_static/{route}/{name}", f"/docs/_static/{route}/{encoded}"}:
        response = get(client, url)
        assert response.status_code == 404, url
        assert_guarded(response)


@pytest.mark.parametrize(
    "url",
    [
        "/docs/_static/redoc/",
        "/docs/_static/redoc/.",
        "/docs/_static/redoc/./redoc.standalone.js/",
        "/docs/_static/swagger/..%2f..%2fflask_swagger_ui.py",
        "/docs/_static/swagger/%2e%2e/flask_swagger_ui.py",
        "/docs/_static/swagger/swagger-ui.css%00.html",
        "/docs/_static/swagger/SWAGGER-UI.CSS",
        "/docs/_static/apidocs/..%2fviews.py",
        "/docs/_static/apidocs/%2e%2e%2fviews.py",
    ],
)
def test_near_misses_answer_404(client: FlaskClient, url: str) -> None:
    assert get(client, url).status_code == 404
