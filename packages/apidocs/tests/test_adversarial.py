"""What a hostile client sends to the docs: random methods, paths, header values and bodies.

None of it may answer 500; no answer may carry a file that is not one the pages load (path
traversal, encoded separators and NULs included); and none of it may grow memory.
"""

from __future__ import annotations

import gc
import operator
import random
import string
import tracemalloc
import typing as t
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import flask_plug.apidocs
from flask_plug.apidocs import APIDocs
from flask_plug.apidocs.views import REDOC, SWAGGER_UI

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.wrappers import Response

OWN_STATIC = Path(flask_plug.apidocs.__file__).parent / "static"
ROUTES = ["/docs/_static/swagger/", "/docs/_static/redoc/", "/docs/_static/apidocs/"]
DOCS = ["/docs/", "/docs/redoc", "/docs/openapi.json", "/docs", "/docs/_static/"]
ASSETS = [
    "/docs/_static/swagger/swagger-ui.css",
    "/docs/_static/swagger/swagger-ui-bundle.js",
    "/docs/_static/swagger/swagger-ui-standalone-preset.js",
    "/docs/_static/swagger/favicon-32x32.png",
    "/docs/_static/redoc/redoc.standalone.js",
    "/docs/_static/redoc/logo-mini.svg",
    "/docs/_static/apidocs/swagger-init.js",
    "/docs/_static/apidocs/redoc-init.js",
]
TOKEN = string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~"
STANDARD_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"]
# Pieces an attacker strings together to climb out of an asset folder or to confuse a
# check on the name: dot segments in every spelling, separators, NULs, overlong UTF-8, and
# names of files that sit next to the served ones.
PIECES = [
    "..", ".", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e%252e", "%c0%ae%c0%ae", "/", "%2f",
    "%2F", "%252f", "\\", "%5c", "%00", "\x00", "%0a", "%0d%0a", ";", "%3b", "//", "~",
    "index.html", "oauth2-redirect.html", "swagger-ui.js", "LICENSE", "VERSION", "__init__.py",
    "views.py", "../templates/apidocs/redoc.html", "redoc.standalone.js", "swagger-ui.css",
    "logo-mini.svg", "swagger-init.js", "/etc/passwd", "C:\\Windows\\win.ini", "%ff", "é",
]  # fmt: skip
# Every file beside the served ones and one folder up, as a name to ask for.
NEIGHBOURS = sorted(
    {path.name for folder in (SWAGGER_UI, REDOC, OWN_STATIC) for path in folder.iterdir()}
    | {f"../{path.name}" for folder in (SWAGGER_UI, REDOC, OWN_STATIC)
       for path in folder.parent.iterdir()}
)  # fmt: skip


def make_app() -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    apidocs = APIDocs(app, title="Hostile")
    api = Blueprint("api", __name__, url_prefix="/api")

    @api.get("/items/<int:item_id>")
    def item(item_id: int) -> dict[str, int]:
        """One item."""
        return {"id": item_id}

    @api.post("/items")
    @apidocs.doc(responses={409: "Exists"})
    def add_item() -> dict[str, str]:
        """Add an item."""
        return {}

    app.register_blueprint(api)
    return app


APP = make_app()


def fetch(client: FlaskClient, path: str, **kwargs: t.Any) -> Response:
    """The response, read whole and closed."""
    with client.open(path, **kwargs) as response:
        response.get_data()
        return response


def _served() -> list[bytes]:
    client = APP.test_client()
    bodies = [fetch(client, url).get_data() for url in [*ASSETS, *DOCS[:3]]]
    assert all(bodies)
    return bodies


# Everything the docs may ever answer with: the pages, the document and the allowed files
# (ReDoc's script as served, with its logo URL rewritten). A 2xx body must be one of them
# or, for a range request, a slice of one.
SERVED = _served()


def check(response: t.Any, method: str) -> None:
    assert response.status_code < 500, response.status_code
    if not 200 <= response.status_code < 300:
        return
    body = response.get_data()
    if method == "HEAD" or not body:
        return
    assert any(body in served for served in SERVED), body[:200]


# GET on its own too: the only method that reads a file, so the one worth trying most.
methods = (
    st.just("GET") | st.sampled_from(STANDARD_METHODS) | st.text(TOKEN, min_size=1, max_size=12)
)
# Header values as WSGI delivers them: any Latin-1 text, controls included.
header_values = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60)
ranges = header_values | st.builds(
    lambda a, b: f"bytes={a}-{b}",
    st.integers(-5, 2_000_000).map(str) | st.just(""),
    st.integers(-5, 2_000_000).map(str) | st.just(""),
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "HTTP_RANGE": ranges,
        "HTTP_IF_RANGE": header_values,
        "HTTP_IF_NONE_MATCH": header_values,
        "HTTP_IF_MODIFIED_SINCE": header_values,
        "HTTP_ACCEPT": header_values,
        "HTTP_ACCEPT_ENCODING": header_values,
        "HTTP_COOKIE": header_values,
        "HTTP_HOST": header_values,
        "CONTENT_TYPE": header_values,
    },
)
bodies = st.binary(max_size=512)


def quoted(text: str) -> str:
    return quote(text, safe="/.")


# A file beside a served one, asked for by name: the plainest way to get one that is not
# on the list.
neighbours = st.builds(operator.add, st.sampled_from(ROUTES), st.sampled_from(NEIGHBOURS))


def paths(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A docs route, then ``PIECES`` and ``text`` strung together, then perhaps a name."""
    return st.builds(
        lambda route, parts, name: route + "".join(parts) + name,
        st.sampled_from(ROUTES + DOCS),
        st.lists(st.sampled_from(PIECES) | text, max_size=5),
        st.sampled_from(NEIGHBOURS) | st.just(""),
    )


# A path as a client writes it, percent-encoded.
url_paths = (neighbours | paths(st.text(max_size=8).map(quoted))).map(
    lambda path: path.replace("\x00", "%00").replace("é", "%C3%A9")
)
# The same, as a server hands it on already decoded (PATH_INFO, Latin-1 text in WSGI).
raw_paths = (neighbours | paths(st.text(st.characters(max_codepoint=0xFF), max_size=8))).map(
    lambda path: path.encode("utf-8", "surrogatepass").decode("latin-1")
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, path=url_paths, environ=headers, body=bodies)
@example(method="GET", path="/docs/_static/redoc/index.html", environ={}, body=b"")
def test_any_request_to_the_docs(
    method: str, path: str, environ: dict[str, str], body: bytes
) -> None:
    response = fetch(APP.test_client(), path, method=method, data=body, environ_overrides=environ)
    check(response, method)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, path=raw_paths, environ=headers)
def test_any_decoded_path_to_the_assets(method: str, path: str, environ: dict[str, str]) -> None:
    response = fetch(
        APP.test_client(), "/", method=method, environ_overrides={**environ, "PATH_INFO": path}
    )
    check(response, method)


@settings(max_examples=100, deadline=None)
@given(url=st.sampled_from(ASSETS), environ=headers)
def test_allowed_assets_under_hostile_headers(url: str, environ: dict[str, str]) -> None:
    response = fetch(APP.test_client(), url, environ_overrides=environ)
    check(response, "GET")
    if response.status_code in (200, 206):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def random_request(rng: random.Random) -> tuple[str, str, dict[str, str]]:
    method = rng.choice(STANDARD_METHODS + ["".join(rng.choices(TOKEN, k=rng.randint(1, 12)))])
    path = rng.choice(ROUTES + DOCS) + "".join(rng.choices(PIECES, k=rng.randint(0, 4)))
    path += "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(0, 8)))
    environ = {
        "HTTP_RANGE": f"bytes={rng.randint(0, 10_000)}-",
        "HTTP_IF_NONE_MATCH": "".join(rng.choices(string.printable, k=12)),
        "HTTP_ACCEPT": "".join(rng.choices(string.printable, k=12)),
    }
    return method, path.replace("\x00", "%00").replace("é", "%C3%A9"), environ


def test_memory_stays_flat_under_random_requests() -> None:
    app = make_app()
    client = app.test_client()
    rng = random.Random(13)

    def attack(count: int) -> None:
        for _ in range(count):
            method, path, environ = random_request(rng)
            check(fetch(client, path, method=method, environ_overrides=environ), method)

    attack(300)  # templates, the document and ReDoc's script are built once
    gc.collect()
    tracemalloc.start()
    try:
        attack(1000)
        gc.collect()
        first = tracemalloc.get_traced_memory()[0]
        attack(1000)
        gc.collect()
        second = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    # 1,000 more distinct requests: anything kept per request would show as at least a
    # few hundred kilobytes here.
    assert second - first < 64 * 1024, (first, second)
