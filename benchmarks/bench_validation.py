"""flask-plug-apidocs request validation and response marshalling (``@apidocs.validate``)
against bare Flask and the peer extensions, on the same case: ``POST /items`` with a JSON
body of 10 fields, validated, and a created item of 11 fields answered with 201.

Every variant answers the same request with the same JSON; :func:`check` sends it once
through Flask's test client before anything is timed, so no row measures an error path.
The item the view builds carries a ``secret`` that must not be sent: the marshalling
extensions drop it, where a peer cannot the view leaves it out itself (see ``NOTES``).

The second table is what ``@apidocs.validate`` costs on a view that declares nothing.
"""

from __future__ import annotations

import json
import re
import typing as t
from time import perf_counter_ns

from flask import Flask, jsonify, request
from harness import Result, Variant, measure
from pydantic import BaseModel, Field

from flask_plug.apidocs import APIDocs

# -- the case --------------------------------------------------------------------------------

PAYLOAD: dict[str, t.Any] = {
    "name": "Garden chair",
    "price": 49.9,
    "quantity": 12,
    "active": True,
    "tags": ["garden", "outdoor", "wood"],
    "colour": "green",
    "sku": "GAR-0042",
    "weight": 4.75,
    "note": "assembly required",
    "category": "furniture",
}
BODY = json.dumps(PAYLOAD).encode()
EXPECTED = {"id": 1, **PAYLOAD}
SECRET = "cost price 21.30"
COLOURS = ("red", "green", "blue")
SKU = r"^[A-Z]{3}-[0-9]{4}$"
JSON = (("Content-Type", "application/json"),)

Colour = t.Literal["red", "green", "blue"]


class NewItem(BaseModel):
    """The request body, for the pydantic variants."""

    name: t.Annotated[str, Field(min_length=1, max_length=100)]
    price: t.Annotated[float, Field(gt=0)]
    quantity: t.Annotated[int, Field(ge=0)]
    active: bool
    tags: list[str]
    colour: Colour
    sku: t.Annotated[str, Field(pattern=SKU)]
    weight: float
    note: str | None = None
    category: str


class Item(NewItem):
    """The response: the body plus the id."""

    id: int


class StoredItem(Item):
    """What the views build: the item plus a field that must not be sent."""

    secret: str


def _stored(body: NewItem) -> StoredItem:
    return StoredItem(
        id=1,
        name=body.name,
        price=body.price,
        quantity=body.quantity,
        active=body.active,
        tags=body.tags,
        colour=body.colour,
        sku=body.sku,
        weight=body.weight,
        note=body.note,
        category=body.category,
        secret=SECRET,
    )


def _marshmallow_schemas(module: t.Any) -> tuple[type, type]:
    """``(NewItemSchema, ItemSchema)`` from ``module``'s ``Schema`` and ``fields``: the
    same constraints as :class:`NewItem`. APIFlask re-exports marshmallow's."""
    from marshmallow import validate

    fields = module.fields

    class NewItemSchema(module.Schema):  # type: ignore[name-defined,misc]
        name = fields.String(required=True, validate=validate.Length(min=1, max=100))
        price = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False))
        quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
        active = fields.Boolean(required=True)
        tags = fields.List(fields.String(), required=True)
        colour = fields.String(required=True, validate=validate.OneOf(COLOURS))
        sku = fields.String(required=True, validate=validate.Regexp(SKU))
        weight = fields.Float(required=True)
        note = fields.String(allow_none=True, load_default=None)
        category = fields.String(required=True)

    class ItemSchema(NewItemSchema):
        id = fields.Integer()

    return NewItemSchema, ItemSchema


# -- bare Flask: what the extensions replace, by hand ----------------------------------------

_SKU = re.compile(SKU)


def _bare_item() -> t.Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return {"error": "a JSON object is required"}, 400
    errors = {}
    name = data.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        errors["name"] = "a string of 1 to 100 characters"
    price = data.get("price")
    if isinstance(price, bool) or not isinstance(price, (int, float)) or not price > 0:
        errors["price"] = "a number greater than 0"
    quantity = data.get("quantity")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        errors["quantity"] = "an integer of at least 0"
    active = data.get("active")
    if not isinstance(active, bool):
        errors["active"] = "a boolean"
    tags = data.get("tags")
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        errors["tags"] = "a list of strings"
    colour = data.get("colour")
    if colour not in COLOURS:
        errors["colour"] = "one of red, green, blue"
    sku = data.get("sku")
    if not isinstance(sku, str) or not _SKU.match(sku):
        errors["sku"] = f"a string matching {SKU}"
    weight = data.get("weight")
    if isinstance(weight, bool) or not isinstance(weight, (int, float)):
        errors["weight"] = "a number"
    note = data.get("note")
    if note is not None and not isinstance(note, str):
        errors["note"] = "a string or null"
    category = data.get("category")
    if not isinstance(category, str):
        errors["category"] = "a string"
    if errors:
        return {"errors": errors}, 422
    item = {
        "id": 1,
        "name": name,
        "price": float(price),  # type: ignore[arg-type]
        "quantity": quantity,
        "active": active,
        "tags": tags,
        "colour": colour,
        "sku": sku,
        "weight": float(weight),  # type: ignore[arg-type]
        "note": note,
        "category": category,
    }
    return jsonify(item), 201


def _bare() -> Flask:
    app = Flask("bare")
    app.post("/items")(_bare_item)
    return app


# -- flask-plug-apidocs ----------------------------------------------------------------------


def _ours() -> Flask:
    app = Flask("ours")
    apidocs = APIDocs(app)

    @app.post("/items")
    @apidocs.validate
    def create_item(body: NewItem) -> tuple[Item, int]:
        return _stored(body), 201

    return app


# -- the peers -------------------------------------------------------------------------------


def _apiflask() -> Flask:
    import apiflask

    NewItemSchema, ItemSchema = _marshmallow_schemas(apiflask)
    app = apiflask.APIFlask("apiflask")

    @app.post("/items")
    @app.input(NewItemSchema)
    @app.output(ItemSchema, status_code=201)
    def create_item(json_data: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"id": 1, **json_data, "secret": SECRET}

    return app


def _flask_openapi3() -> Flask:
    from flask_openapi3 import OpenAPI

    app = OpenAPI("flask-openapi3")

    # No response marshalling: the view serialises the item itself, leaving the secret out.
    @app.post("/items", responses={201: Item})
    def create_item(body: NewItem) -> t.Any:
        return _stored(body).model_dump(exclude={"secret"}), 201

    return app


def _spectree() -> Flask:
    from spectree import Response, SpecTree

    app = Flask("spectree")
    api = SpecTree("flask", app=app)

    # It sends a returned model (or subclass) whole, with model_dump_json: the view builds
    # the declared Item itself, leaving the secret out.
    @app.post("/items")
    @api.validate(json=NewItem, resp=Response(HTTP_201=Item))
    def create_item() -> t.Any:
        body = request.context.json  # type: ignore[attr-defined]
        stored = _stored(body)
        return Item(**{name: getattr(stored, name) for name in Item.model_fields}), 201

    return app


def _flask_smorest() -> Flask:
    import marshmallow
    from flask_smorest import Api
    from flask_smorest import Blueprint as SmorestBlueprint

    NewItemSchema, ItemSchema = _marshmallow_schemas(marshmallow)
    app = Flask("flask-smorest")
    app.config.update(API_TITLE="Items", API_VERSION="1", OPENAPI_VERSION="3.1.0")
    api = Api(app)
    blp = SmorestBlueprint("items", __name__)

    @blp.route("/items", methods=["POST"])
    @blp.arguments(NewItemSchema)
    @blp.response(201, ItemSchema)
    def create_item(data: dict[str, t.Any]) -> dict[str, t.Any]:
        return {"id": 1, **data, "secret": SECRET}

    api.register_blueprint(blp)
    return app


PEERS = [
    ("APIFlask 3.1.2", _apiflask),
    ("flask-openapi3 4.3.2", _flask_openapi3),
    ("spectree 3.0.0", _spectree),
    ("flask-smorest 0.47.0", _flask_smorest),
]
NOTES = [
    "The same body and answer for every variant: bare Flask checks the ten fields by hand and"
    " builds the answer's dict itself; the view of every other builds the item with a"
    " `secret` field, which the answer must not carry.",
    "flask-plug-apidocs validates the raw bytes in pydantic's strict mode (`'49.9'` is not a"
    " price) and sends only the fields `Item` declares, from a `StoredItem(Item)` subclass.",
    "APIFlask 3.1.2 and flask-smorest 0.47.0 (marshmallow 4.4.0, same constraints) load the"
    " body into a dict and dump the returned dict with the output schema, which drops"
    " `secret`; marshmallow's `Float` takes `'49.9'`.",
    "flask-openapi3 4.3.2 validates the body (pydantic, lax mode) but does not marshal"
    " answers: its `validate_response` (off by default) only checks them. Its view returns"
    " `model_dump(exclude={'secret'})` and Flask's `jsonify` serialises that.",
    "spectree 3.0.0 validates the parsed JSON in pydantic's lax mode and sends a returned"
    " model with its own `model_dump_json`, so a `StoredItem` would send its `secret`: its"
    " view builds the declared `Item` from it.",
]


# -- the check and the tables ----------------------------------------------------------------


def check(variant: Variant, status: int, expected: t.Any) -> None:
    """One request through the test client: the status and JSON the table assumes."""
    client = variant.app.test_client()  # type: ignore[attr-defined]
    response = client.open(
        variant.path, method=variant.method, headers=list(variant.headers), data=variant.body
    )
    assert response.status_code == status, (variant.label, response.status, response.data)
    assert response.mimetype == "application/json", (variant.label, response.mimetype)
    got = json.loads(response.data)
    assert got == expected, (variant.label, got)
    assert SECRET.encode() not in response.data, (variant.label, "sent the secret")


def create_item() -> list[Variant]:
    """POST /items with the 10-field body, on every variant."""
    apps = [("bare Flask", _bare), ("flask-plug-apidocs", _ours), *PEERS]
    variants = [
        Variant(label, build(), "/items", "POST", headers=JSON, body=BODY) for label, build in apps
    ]
    for variant in variants:
        check(variant, 201, EXPECTED)
    return variants


TRIVIAL = {"id": 1, "title": "hello", "tags": ["a", "b"]}


def _plain() -> dict[str, t.Any]:
    return TRIVIAL


def _undeclared() -> tuple[Flask, Flask, Flask, t.Callable[[], t.Any]]:
    bare = Flask("bare")
    bare.get("/")(_plain)

    registered = Flask("registered")
    APIDocs(registered)
    registered.get("/")(_plain)

    decorated = Flask("decorated")
    apidocs = APIDocs(decorated)

    def plain():  # type: ignore[no-untyped-def]  # nothing declared: no return type either
        return TRIVIAL

    validated = apidocs.validate(plain)
    decorated.get("/")(validated)
    return bare, registered, decorated, validated


def undeclared_view() -> list[Variant]:
    """A GET view with no declared input and no return type."""
    bare, registered, decorated, _ = _undeclared()
    variants = [
        Variant("bare Flask", bare),
        Variant("flask-plug-apidocs registered, plain view", registered),
        Variant("flask-plug-apidocs, `@apidocs.validate` declaring nothing", decorated),
    ]
    for variant in variants:
        check(variant, 200, TRIVIAL)
    return variants


CALLS, CALL_ROUNDS = 200_000, 15


def wrapper_cost(calls: int = CALLS, rounds: int = CALL_ROUNDS) -> tuple[float, float]:
    """``(plain, validated)``: ns per call of the undeclared view, undecorated and decorated,
    called directly in a request context. The difference is the decorator's own cost, far
    below the spread of whole requests."""
    _, _, decorated, validated = _undeclared()
    plain = _plain
    samples: dict[str, list[float]] = {"plain": [], "validated": []}
    with decorated.test_request_context("/"):
        for _ in range(rounds):
            for name, view in (("plain", plain), ("validated", validated)):
                start = perf_counter_ns()
                for _ in range(calls):
                    view()
                samples[name].append((perf_counter_ns() - start) / calls)
    return min(samples["plain"]), min(samples["validated"])


def run() -> list[tuple[str, list[Result]]]:
    return [
        ("validation: POST of a 10-field JSON body, validated; the created item answered (201)",
         measure(create_item())),
        ("validation: a GET view declaring no input and no return type",
         measure(undeclared_view())),
    ]  # fmt: skip


def notes() -> str:
    """What each peer could express of the case, and the decorator's own cost measured
    without a request around it: Markdown for ``benchmarks/run.py``, after the tables."""
    plain, validated = wrapper_cost()
    lines = [f"- {note}" for note in NOTES]
    lines.append(
        "- `@apidocs.validate` on a view declaring nothing, called directly in a request"
        f" context (no WSGI round trip): {validated - plain:+.0f} ns per call over the same"
        f" view undecorated ({plain:.0f} ns); the best of {CALL_ROUNDS} runs of {CALLS:,} calls."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    from harness import table

    for title, results in run():
        print(table(title, results, baseline="bare Flask"), end="\n\n")
    print(notes())
