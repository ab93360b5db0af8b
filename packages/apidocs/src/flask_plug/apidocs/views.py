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
    current_app,
    render_template,
    send_from_directory,
    url_for,
)

if t.TYPE_CHECKING:
    from .settings import APIDocsSettings

# Everything a page loads comes from this app: the UIs are packaged, never fetched from a
# CDN. The policy makes a browser refuse anything else, should a UI version start to try.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
_REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


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


def make_blueprint(settings: APIDocsSettings) -> Blueprint:
    """The blueprint serving the document and, unless ``ui`` is off, the two pages."""
    from .extension import document_text

    if not settings.ui:
        bp = Blueprint(settings.blueprint_name, __name__)
    else:
        bp = Blueprint(
            settings.blueprint_name, __name__, template_folder="templates",
            static_folder="static", static_url_path="/_static/apidocs",
        )  # fmt: skip

    @bp.get("/openapi.json")
    def document() -> Response:
        text = document_text(current_app._get_current_object())  # type: ignore[attr-defined]
        return Response(text, mimetype="application/json")

    if not settings.ui:
        return bp

    @bp.get("/")
    def swagger_ui() -> Response:
        return _page("apidocs/swagger.html", settings)

    @bp.get("/redoc")
    def redoc() -> Response:
        return _page("apidocs/redoc.html", settings)

    @bp.get("/_static/swagger/<path:filename>")
    def swagger_asset(filename: str) -> Response:
        return send_from_directory(SWAGGER_UI, filename, max_age=86400)

    @bp.get("/_static/redoc/<path:filename>")
    def redoc_asset(filename: str) -> Response:
        if filename != "redoc.standalone.js":
            return send_from_directory(REDOC, filename, max_age=86400)
        logo = url_for(".redoc_asset", filename="logo-mini.svg").encode()
        response = Response(_redoc_script().replace(_REDOC_CDN_LOGO, logo),
                            mimetype="text/javascript")  # fmt: skip
        response.cache_control.max_age = 86400
        return response

    return bp


def _page(template: str, settings: APIDocsSettings) -> Response:
    response = Response(render_template(template, title=settings.title))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


@functools.cache
def _redoc_script() -> bytes:
    # ReDoc links its sidebar logo from its CDN, with no option to stop it: serve it here.
    path = REDOC / "redoc.standalone.js"
    if not path.is_file():
        abort(404)
    return path.read_bytes()
