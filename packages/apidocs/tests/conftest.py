from __future__ import annotations

import dataclasses
import typing as t

import pytest
from flask import Flask
from typing_extensions import TypedDict

from flask_plug.apidocs import APIDocs

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


@dataclasses.dataclass
class Note:
    """A note."""

    id: int
    title: str
    tags: list[str]
    body: str | None = None


# typing_extensions': pydantic cannot read typing's TypedDict before Python 3.12.
class _NewNoteFields(TypedDict):
    title: str


class NewNote(_NewNoteFields, total=False):
    body: str


@pytest.fixture
def apidocs() -> APIDocs:
    return APIDocs(title="Notes API", version="1.2.3")


@pytest.fixture
def app(apidocs: APIDocs) -> Flask:
    app = Flask(__name__)
    apidocs.init_app(app)

    @app.get("/notes/<int:note_id>")
    def get_note(note_id: int) -> Note:
        """Get one note.

        Notes are short texts.
        """
        return Note(note_id, "hello", [])

    @app.post("/notes")
    @apidocs.doc(body=NewNote, response=Note, status=201)
    def create_note() -> t.Any:
        """Create a note."""
        return {}

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def document(client: FlaskClient) -> dict[str, t.Any]:
    response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    document: dict[str, t.Any] = response.get_json()
    return document
