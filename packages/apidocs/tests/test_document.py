from __future__ import annotations

import typing as t

from openapi_spec_validator import validate

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


def test_document_is_valid_openapi_3_1(document: dict[str, t.Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["info"] == {"title": "Notes API", "version": "1.2.3"}


def test_operation_comes_from_the_rule_the_docstring_and_the_return_hint(
    document: dict[str, t.Any],
) -> None:
    operation = document["paths"]["/notes/{note_id}"]["get"]
    assert operation["operationId"] == "get_note"
    assert operation["summary"] == "Get one note."
    assert operation["description"] == "Notes are short texts."
    assert operation["parameters"] == [
        {"in": "path", "name": "note_id", "required": True,
         "schema": {"minimum": 0, "type": "integer"}},
    ]  # fmt: skip
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Note"}
    note = document["components"]["schemas"]["Note"]
    assert note["required"] == ["id", "title", "tags"]
    assert note["properties"]["body"] == {
        "anyOf": [{"type": "string"}, {"type": "null"}], "default": None,
    }  # fmt: skip


def test_doc_decorator_declares_the_body_and_the_status(document: dict[str, t.Any]) -> None:
    operation = document["paths"]["/notes"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/NewNote"}
    assert document["components"]["schemas"]["NewNote"]["required"] == ["title"]
    assert list(operation["responses"]) == ["201", "400", "415"]  # 400, 415: bad or no JSON


def test_pages_and_assets_are_served(client: FlaskClient) -> None:
    for url in (
        "/docs/",
        "/docs/redoc",
        "/docs/_static/swagger/swagger-ui-bundle.js",
        "/docs/_static/redoc/redoc.standalone.js",
    ):
        with client.get(url) as response:
            assert response.status_code == 200, url
    with client.get("/docs/_static/redoc/redoc.standalone.js") as response:
        assert b"cdn.redoc.ly" not in response.data
