"""Sphinx configuration of the Flask-Plug docs site (furo theme, MyST Markdown)."""

from __future__ import annotations

import sys
from importlib.metadata import version as _version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "Flask-Plug"
author = "Flask-Plug maintainers"
copyright = "2026, Flask-Plug maintainers"
release = _version("flask-plug-timer")

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "openapi_reference",
]
# The demo's API reference, from the document `hatch run demo:openapi` exports.
openapi_reference = {"demo-api.md": "demo-openapi.json"}
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "_generated"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True}

html_theme = "furo"
html_title = "Flask-Plug"
html_static_path = ["_static"]

# The site is built offline (no intersphinx), so names from Flask, blinker and the
# standard library cannot link anywhere; every other unresolved reference is an error.
nitpicky = True
nitpick_ignore_regex = [
    ("py:class", r"(Flask|Blueprint|Namespace|Iterable|ContextVar|F|T|timedelta|OriginSpec)"),
    ("py:class", r"(WSGIEnvironment|Engine|Connection|datetime|Collector|AccessCheck|.*\.[TF])"),
    ("py:class", r"(datetime|sqlalchemy)\..*"),
    ("py:class", r"(t|flask|blinker|werkzeug|collections\.abc|typing|contextvars|re)\..*"),
    ("py:class", r"logging(\.handlers)?\..*|Redactor|Formatter"),
    # Werkzeug's request and response types in HTTPException signatures; auth's internal
    # call deadlines; Flask's type of a view, which apidocs' validate returns.
    ("py:class", r"SansIOResponse|Deadlines|WSGIRequest|Response|RouteCallable"),
    # SQLAlchemy's types in the signatures of auth's user adapters (no intersphinx here).
    ("py:class", r"scoped_session|Row|Column|Table|Mapper|Mapped|Tables"),
    # The standard library's mail message (no intersphinx), and auth's alias of a sender.
    ("py:class", r"email\..*|MailSender"),
    # ratelimit's aliases of the functions its options take (each documented in prose).
    ("py:class", r"LimitFunction|DeductWhen|OnBreach"),
    # stats' alias of a label's value (documented in prose); the standard library's WSGI
    # server, which stats' metrics server wraps.
    ("py:class", r"LabelValue|WSGIServer"),
    # reqlog's alias of the function its extra_fields option takes (documented in prose).
    ("py:class", r"ExtraFields"),
]
