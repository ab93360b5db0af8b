"""The docs pages: Swagger UI and ReDoc from PyPI packages, and the JSON document."""

from __future__ import annotations

import functools
import importlib.util
import typing as t
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    render_template,
    send_file,
    url_for,
)

from ._state import current_app_object, get_state

if t.TYPE_CHECKING:
    from .settings import APIDocsSettings

# Everything a page loads comes from this app: the UIs are packaged, never fetched from a
# CDN. The policy makes a browser refuse anything else, should a UI version start to try.
# Each source below is one a UI was seen to need in Chromium: both inject <style> elements,
# both draw icons from data: URLs, and ReDoc builds its search index in a worker made from
# a blob: URL. Scripts are this app's files only, so HTML that reaches a description cannot
# run, and only a page of this origin may frame the docs.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; worker-src blob:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # For browsers that predate frame-ancestors.
    "X-Frame-Options": "SAMEORIGIN",
}
"""Sent with every response of the docs blueprint: pages, assets, the document, and 404s."""
_REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_ASSET_MAX_AGE = 86400


def package_folder(package: str, *parts: str) -> Path:
    """A folder inside an installed package, found without importing the package."""
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise RuntimeError(f"flask-plug-apidocs needs the {package!r} package; reinstall it")
    return Path(next(iter(found.submodule_search_locations)), *parts)


SWAGGER_UI = package_folder("flask_swagger_ui", "dist")
"""Swagger UI's files, from the ``flask-swagger-ui`` distribution."""
REDOC = package_folder("openapi_ui_bundles", "redoc", "vendor")
"""ReDoc's files, from the ``openapi-ui-bundles`` distribution."""
OWN_STATIC = Path(__file__).with_name("static")
"""The pages' start-up scripts, shipped in this package."""

# The only files served, by name: what the two pages load. The asset packages ship more
# (sample pages that load a spec from the internet, an OAuth redirect page, sources, a
# LICENSE); none of that is the docs' business, so none of it is reachable.
SWAGGER_UI_FILES = frozenset(
    {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
     "favicon-32x32.png"}
)  # fmt: skip
REDOC_FILES = frozenset({"redoc.standalone.js", "logo-mini.svg"})
OWN_FILES = frozenset({"swagger-init.js", "redoc-init.js"})


def make_blueprint(settings: APIDocsSettings) -> Blueprint:
    """The blueprint serving the document and, unless ``ui`` is off, the two pages."""
    bp = Blueprint(settings.blueprint_name, __name__, template_folder="templates")
    bp.after_request(_add_security_headers)

    @bp.get("/openapi.json")
    def document() -> Response:
        app = current_app_object()
        return Response(get_state(app).document_text(app), mimetype="application/json")

    if not settings.ui:
        return bp

    @bp.get("/")
    def swagger_ui() -> Response:
        return Response(render_template("apidocs/swagger.html", title=settings.title))

    @bp.get("/redoc")
    def redoc() -> Response:
        return Response(render_template("apidocs/redoc.html", title=settings.title))

    # Named "static" so templates (and apps' overrides of them) keep url_for('.static').
    @bp.get("/_static/apidocs/<path:filename>", endpoint="static")
    def own_asset(filename: str) -> Response:
        return _send(OWN_STATIC, OWN_FILES, filename)

    @bp.get("/_static/swagger/<path:filename>")
    def swagger_asset(filename: str) -> Response:
        return _send(SWAGGER_UI, SWAGGER_UI_FILES, filename)

    @bp.get("/_static/redoc/<path:filename>")
    def redoc_asset(filename: str) -> Response:
        if filename != "redoc.standalone.js":
            return _send(REDOC, REDOC_FILES, filename)
        logo = url_for(".redoc_asset", filename="logo-mini.svg").encode()
        response = Response(_redoc_script().replace(_REDOC_CDN_LOGO, logo),
                            mimetype="text/javascript")  # fmt: skip
        response.cache_control.max_age = _ASSET_MAX_AGE
        return response

    return bp


def _send(folder: Path, names: frozenset[str], filename: str) -> Response:
    # An exact name from the allow-list, so nothing the client sends becomes part of a path.
    if filename not in names:
        abort(404)
    path = folder / filename
    if not path.is_file():
        abort(404)
    return send_file(path, max_age=_ASSET_MAX_AGE)


def _add_security_headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@functools.cache
def _redoc_script() -> bytes:
    # ReDoc links its sidebar logo from its CDN, with no option to stop it: serve it here.
    path = REDOC / "redoc.standalone.js"
    if not path.is_file():
        abort(404)
    return path.read_bytes()
