"""``@apidocs.doc`` and ``@apidocs.exclude`` describe ``async def`` views as plain ones."""

from __future__ import annotations

import asyncio
import dataclasses

from flask import Flask

from flask_plug.apidocs import APIDocs


@dataclasses.dataclass
class Item:
    id: int
    name: str


def test_doc_and_exclude_on_async_views() -> None:
    apidocs = APIDocs()
    app = Flask(__name__)
    apidocs.init_app(app)

    @app.post("/items")
    @apidocs.doc(summary="Make an item", body=Item, response=Item, status=201)
    async def create_item() -> tuple[dict[str, object], int]:
        """Not this summary."""
        await asyncio.sleep(0)
        return {"id": 1, "name": "x"}, 201

    @app.get("/items/<int:item_id>")
    async def get_item(item_id: int) -> Item:
        """Read an item."""
        return Item(item_id, "x")

    @app.get("/secret")
    @apidocs.exclude
    async def secret() -> str:
        return "secret"

    client = app.test_client()
    assert client.post("/items", json={"id": 1, "name": "x"}).status_code == 201
    assert client.get("/secret").get_data(as_text=True) == "secret"
    paths = client.get("/docs/openapi.json").get_json()["paths"]
    operation = paths["/items"]["post"]
    assert operation["summary"] == "Make an item"
    assert "201" in operation["responses"]
    assert "requestBody" in operation
    assert paths["/items/{item_id}"]["get"]["summary"] == "Read an item."
    assert "/secret" not in paths
