"""The docs site's generated parts are current."""

from __future__ import annotations

import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_committed_demo_api_document_is_what_the_demo_serves(
    client: FlaskClient, app: Flask
) -> None:
    with client.get("/docs/openapi.json") as response:
        served = response.get_data(as_text=True)
    exported = app.test_cli_runner().invoke(args=["apidocs", "export"]).output
    assert exported == served
    committed = (DOCS / "demo-openapi.json").read_text(encoding="utf-8")
    assert committed == served, "the demo's API changed: run `hatch run demo:openapi`"
