"""``flask apidocs export``: the served document, byte for byte, as JSON or YAML."""

from __future__ import annotations

import dataclasses
import json
import typing as t
from pathlib import Path

import pytest
import yaml
from flask import Blueprint, Flask
from flask.views import MethodView
from openapi_spec_validator import validate

from flask_plug.apidocs import APIDocs


@dataclasses.dataclass
class Note:
    """A note. Ünïcödé: ✓."""

    id: int
    title: str
    tags: list[str] = dataclasses.field(default_factory=list)


class Notes(MethodView):
    def get(self) -> list[Note]:
        """Every note — newest first.

        Markdown: **bold**, `code`, 日本語.
        """
        return []

    def post(self) -> Note:
        """Add a note."""
        return Note(1, "x")


def build_app(**options: t.Any) -> Flask:
    app = Flask("notes")
    apidocs = APIDocs(app, title="Notes ✓", version="1.0", **options)
    app.add_url_rule("/notes", view_func=Notes.as_view("notes"))

    @app.get("/notes/<int:note_id>")
    @apidocs.doc(responses={404: "No such note"})
    def get_note(note_id: int) -> Note:
        """One note."""
        return Note(note_id, "x")

    admin = Blueprint("admin", __name__, url_prefix="/admin")

    @admin.delete("/notes/<uuid:note_id>")
    def purge(note_id: str) -> None:
        """On / off: yes, no, null, 1.0 and 0x10 must stay strings in YAML."""

    app.register_blueprint(admin)
    return app


def served(app: Flask, url: str = "/docs/openapi.json") -> bytes:
    with app.test_client().get(url) as response:
        assert response.status_code == 200
        return response.get_data()


def export(app: Flask, *args: str) -> t.Any:
    result = app.test_cli_runner().invoke(args=["apidocs", "export", *args])
    assert result.exit_code == 0, result.output
    return result


def test_export_prints_exactly_what_is_served() -> None:
    app = build_app()
    printed = export(app).stdout_bytes
    assert printed == served(app)
    document = json.loads(printed)
    validate(document)
    assert document["info"]["title"] == "Notes ✓"
    assert set(document["paths"]) == {"/notes", "/notes/{note_id}", "/admin/notes/{note_id}"}
    assert printed.endswith(b"}\n")


def test_export_before_any_request_matches_a_fresh_app_serving_it() -> None:
    printed = export(build_app()).stdout_bytes
    assert printed == served(build_app())


def test_export_to_a_file_writes_the_same_bytes(tmp_path: Path) -> None:
    app = build_app()
    target = tmp_path / "openapi.json"
    result = export(app, "-o", str(target))
    assert result.output == ""
    assert target.read_bytes() == served(app)

    long_form = tmp_path / "long.json"
    export(app, "--output", str(long_form), "--format", "json")
    assert long_form.read_bytes() == target.read_bytes()


def test_export_overwrites_an_existing_file(tmp_path: Path) -> None:
    app = build_app()
    target = tmp_path / "openapi.json"
    target.write_text("old and much longer content " * 1000, encoding="utf-8")
    export(app, "-o", str(target))
    assert target.read_bytes() == served(app)


def test_yaml_export_loads_to_the_same_document(tmp_path: Path) -> None:
    app = build_app()
    text = export(app, "--format", "yaml").output
    assert not text.lstrip().startswith("{")
    assert yaml.safe_load(text) == json.loads(served(app))
    assert "✓" in text  # unicode kept as is, not escaped

    target = tmp_path / "openapi.yaml"
    export(app, "--format", "yaml", "-o", str(target))
    assert target.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("name", ["openapi.yaml", "openapi.yml", "OPENAPI.YAML"])
def test_a_yaml_file_name_picks_yaml(tmp_path: Path, name: str) -> None:
    app = build_app()
    target = tmp_path / name
    export(app, "-o", str(target))
    text = target.read_text(encoding="utf-8")
    assert not text.lstrip().startswith("{")
    assert yaml.safe_load(text) == json.loads(served(app))
    assert text == export(app, "--format", "yaml").output


@pytest.mark.parametrize("name", ["openapi.json", "openapi", "openapi.yaml.txt"])
def test_any_other_file_name_is_json(tmp_path: Path, name: str) -> None:
    app = build_app()
    target = tmp_path / name
    export(app, "-o", str(target))
    assert target.read_bytes() == served(app)


def test_an_explicit_format_wins_over_the_file_name(tmp_path: Path) -> None:
    app = build_app()
    target = tmp_path / "openapi.yaml"
    export(app, "--format", "json", "-o", str(target))
    assert target.read_bytes() == served(app)


def test_yaml_keeps_strings_that_look_like_other_types() -> None:
    app = build_app()
    document = yaml.safe_load(export(app, "--format", "yaml").output)
    # Status codes are string keys, versions stay strings.
    responses = document["paths"]["/notes/{note_id}"]["get"]["responses"]
    assert set(responses) == {"200", "404"}
    assert document["info"]["version"] == "1.0"
    assert document["openapi"] == "3.1.0"
    validate(document)


@pytest.mark.parametrize("output_format", ["json", "yaml"])
def test_export_is_deterministic_across_fresh_apps(output_format: str) -> None:
    first = export(build_app(), "--format", output_format).stdout_bytes
    second = export(build_app(), "--format", output_format).stdout_bytes
    assert first == second


def test_export_follows_routes_added_after_an_export() -> None:
    app = build_app()
    before = json.loads(export(app).stdout_bytes)

    @app.get("/late")
    def late() -> str:
        return ""

    after = json.loads(export(app).stdout_bytes)
    assert set(after["paths"]) == set(before["paths"]) | {"/late"}
    assert export(app).stdout_bytes == served(app)


def test_export_respects_the_options_of_the_app() -> None:
    app = build_app(url_prefix="/api-docs", exclude=["admin"], ui=False)
    printed = export(app).stdout_bytes
    assert printed == served(app, "/api-docs/openapi.json")
    assert set(json.loads(printed)["paths"]) == {"/notes", "/notes/{note_id}"}


def test_an_unknown_format_is_a_usage_error() -> None:
    result = build_app().test_cli_runner().invoke(args=["apidocs", "export", "--format", "xml"])
    assert result.exit_code == 2
    assert "xml" in result.output


def test_the_command_group_is_listed() -> None:
    result = build_app().test_cli_runner().invoke(args=["apidocs", "--help"])
    assert result.exit_code == 0
    assert "export" in result.output
