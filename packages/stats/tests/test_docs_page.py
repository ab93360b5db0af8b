"""The docs page's examples run as written, and the JSON it shows has the keys the JSON
view answers with (test_readme.py runs the README's).

The page's ``python`` blocks run in order in one namespace, as a reader trying them one
after another in a session would.
"""

from __future__ import annotations

import json
import re
import typing as t
from pathlib import Path

import pytest

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

DOCS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "stats.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.DOTALL | re.MULTILINE)


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
