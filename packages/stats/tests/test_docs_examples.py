"""The README's and the docs page's examples run as written, and the JSON the docs page
shows has the keys the JSON view answers with.

Each document's ``python`` blocks run in order in one namespace, as a reader trying them
one after another in a session would.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import typing as t
from pathlib import Path

import pytest
from flask import g, request

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
DOCS_PAGE = HERE.parents[2] / "docs" / "stats.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)


def readme() -> str:
    if README.exists():
        return README.read_text(encoding="utf-8")
    # Tests run against the installed wheel (dist:check): its description is the README.
    description = importlib.metadata.metadata("flask-plug-stats").json["description"]
    assert isinstance(description, str)
    return description


def docs_page() -> str:
    if not DOCS_PAGE.exists():
        pytest.skip("docs/stats.md is not here (testing an installed wheel)")
    return DOCS_PAGE.read_text(encoding="utf-8")


def blocks(text: str, language: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(text) if lang == language]


def run(text: str, name: str) -> dict[str, t.Any]:
    namespace: dict[str, t.Any] = {"__name__": name}
    for number, code in enumerate(blocks(text, "python")):
        exec(compile(code, f"<{name} block {number}>", "exec"), namespace)
    return namespace


class User:
    def __init__(self, *roles: str) -> None:
        self.roles = roles

    def has_role(self, role: str) -> bool:
        return role in self.roles


def test_the_readme_examples_run() -> None:
    namespace = run(readme(), "readme")
    app = namespace["create_app"]()
    app.add_url_rule("/", "index", lambda: "ok")

    @app.before_request
    def log_in() -> None:  # as a login extension would: the README's rule reads g.user
        g.user = User("admin") if request.args.get("as") == "admin" else User()

    client = app.test_client()
    client.get("/")
    assert client.get("/admin/stats").status_code == 403
    endpoints = client.get("/admin/stats?as=admin").json["endpoints"]
    assert endpoints["index"]["collectors"] == {"large_responses": 0}


def test_the_docs_page_examples_run() -> None:
    namespace = run(docs_page(), "docs")
    app = namespace["app"]
    app.add_url_rule("/", "index", lambda: "ok")
    client = app.test_client()
    client.get("/")
    summary = client.get("/admin/stats").json
    assert summary["history"]["interval"] == 60
    collectors = summary["endpoints"]["index"]["collectors"]
    assert collectors == {"slow_requests": 0, "admin_requests": 0}


def test_the_documented_json_has_the_keys_of_the_json_view(client: FlaskClient) -> None:
    (documented,) = (json.loads(code) for code in blocks(docs_page(), "json"))
    client.get("/users/1")
    answered = client.get("/admin/stats").json

    assert set(documented) == set(answered)
    assert set(documented["endpoints"]["user"]) == set(answered["endpoints"]["user"])
    assert set(documented["history"]) == set(answered["history"])
    (point,) = documented["history"]["points"]
    assert set(point) == {"start", "requests", "errors", "mean", "p50", "p95", "p99"}
