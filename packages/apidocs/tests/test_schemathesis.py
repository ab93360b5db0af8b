"""Schemathesis reads the served document and fuzzes the app with it, positive and negative.

The app below is a small, careful JSON API: it validates every input and answers every error
as JSON, as documented. Any disagreement schemathesis finds is therefore one between the
document and Flask, which is what the extension must get right.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import typing as t
import uuid

import jsonschema
import pydantic
import pytest
import schemathesis
import typing_extensions as te
from flask import Blueprint, Flask, Response, jsonify, request
from flask.views import MethodView
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from werkzeug import Response as BaseResponse
from werkzeug.exceptions import HTTPException, NotFound, UnprocessableEntity

from flask_plug.apidocs import APIDocs

REF_NAMESPACE = uuid.UUID("6f1c7c52-2f3e-4b7c-9d0e-2a8c3b1e5f00")
_INTEGER = re.compile(r"-?[0-9]+")


@dataclasses.dataclass
class Item:
    """An item for sale."""

    id: int
    ref: uuid.UUID
    name: str
    price: float
    tags: list[str]


# typing_extensions': pydantic cannot read typing's TypedDict before Python 3.12.
class _NewItemFields(te.TypedDict):
    name: str
    price: float


class NewItem(_NewItemFields, total=False):
    """A new item; ``tags`` may be left out."""

    tags: list[str]


@dataclasses.dataclass
class ItemUpdate:
    """All of an item's fields but its id."""

    name: str
    price: float
    tags: list[str] = dataclasses.field(default_factory=list)


class ItemQuery(pydantic.BaseModel):
    """Which items to list."""

    limit: int = pydantic.Field(10, ge=1, le=100)
    offset: int = pydantic.Field(0, ge=0)
    tag: str | None = None


class Error(te.TypedDict):
    """What every error answers."""

    error: str
    status: int
    detail: str


class Invalid(UnprocessableEntity):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


# -- input checks, written by hand: the document is not used to validate the app ----------


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_fields(data: object, required: tuple[str, ...]) -> dict[str, t.Any]:
    if not isinstance(data, dict):
        raise Invalid("body", "must be a JSON object")
    for name in required:
        if name not in data:
            raise Invalid("body", f"{name!r} is required")
    if "name" in data and not isinstance(data["name"], str):
        raise Invalid("name", "must be a string")
    if "price" in data and not _is_number(data["price"]):
        raise Invalid("price", "must be a number")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise Invalid("tags", "must be a list of strings")
    return data


def _json_body(required: tuple[str, ...]) -> dict[str, t.Any]:
    return _check_fields(request.get_json(silent=True), required)


def _query_integer(name: str, default: int, low: int, high: int | None) -> int:
    values = request.args.getlist(name)
    if not values:
        return default
    if len(values) > 1 or not _INTEGER.fullmatch(values[0]):
        raise Invalid(name, "must be one integer")
    value = int(values[0])
    if value < low or (high is not None and value > high):
        raise Invalid(name, f"must be in [{low}, {high if high is not None else '∞'}]")
    return value


def _query_text(name: str) -> str | None:
    values = request.args.getlist(name)
    if len(values) > 1:
        raise Invalid(name, "must be given once")
    return values[0] if values else None


# -- the app -------------------------------------------------------------------------------


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.items: dict[int, Item] = {}
        self.next_id = 1

    def add(self, name: str, price: float, tags: list[str]) -> Item:
        with self.lock:
            while self.next_id in self.items:
                self.next_id += 1
            return self.put(self.next_id, name, price, tags)

    def put(self, item_id: int, name: str, price: float, tags: list[str]) -> Item:
        item = Item(item_id, uuid.uuid5(REF_NAMESPACE, str(item_id)), name, price, list(tags))
        with self.lock:
            self.items[item_id] = item
        return item

    def get(self, item_id: int) -> Item:
        item = self.items.get(item_id)
        if item is None:
            raise NotFound(f"no item {item_id}")
        return item


def create_app() -> Flask:
    app = Flask(__name__)
    apidocs = APIDocs(app, title="Shop API", version="2.0.0")
    store = Store()
    store.add("pen", 1.5, ["office"])
    store.add("lamp", 20, ["home", "office"])

    @app.errorhandler(HTTPException)
    def json_error(error: HTTPException) -> BaseResponse:
        # Werkzeug's own response keeps the headers that belong to it (Allow on a 405).
        response = error.get_response()
        response.set_data(jsonify(error=error.name, status=error.code,
                                  detail=error.description or "").get_data())  # fmt: skip
        response.mimetype = "application/json"
        return response

    @app.get("/health")
    def health() -> dict[str, str]:
        """Tell that the app is up."""
        return {"status": "ok"}

    items = Blueprint("items", __name__, url_prefix="/items")

    @items.get("")
    @apidocs.doc(query=ItemQuery, responses={422: Error})
    def list_items() -> list[Item]:
        """List items, the newest last."""
        limit = _query_integer("limit", 10, 1, 100)
        offset = _query_integer("offset", 0, 0, None)
        tag = _query_text("tag")
        found = [item for item in store.items.values() if tag is None or tag in item.tags]
        return found[offset : offset + limit]

    @items.post("")
    @apidocs.doc(body=NewItem, response=Item, status=201, responses={422: Error})
    def create_item() -> tuple[Response, int]:
        """Add an item."""
        data = _json_body(("name", "price"))
        item = store.add(data["name"], data["price"], data.get("tags", []))
        return jsonify(item), 201

    class ItemView(MethodView):
        @apidocs.doc(response=Item, responses={404: Error})
        def get(self, item_id: int) -> Response:
            """Get one item."""
            return jsonify(store.get(item_id))

        @apidocs.doc(body=ItemUpdate, response=Item, responses={404: Error, 422: Error})
        def put(self, item_id: int) -> Response:
            """Create or replace the item with this id."""
            data = _json_body(("name", "price"))
            return jsonify(store.put(item_id, data["name"], data["price"], data.get("tags", [])))

        @apidocs.doc(status=204, responses={404: Error})
        def delete(self, item_id: int) -> tuple[str, int]:
            """Remove an item."""
            with store.lock:
                store.items.pop(store.get(item_id).id)
            return "", 204

    items.add_url_rule("/<int:item_id>", view_func=ItemView.as_view("item"))

    @items.get("/by-ref/<uuid:ref>")
    @apidocs.doc(response=Item, responses={404: Error})
    def item_by_ref(ref: uuid.UUID) -> Response:
        """Find an item by its reference."""
        for item in store.items.values():
            if item.ref == ref:
                return jsonify(item)
        raise NotFound(f"no item with reference {ref}")

    @items.get("/tagged/<tag>")
    @apidocs.doc(responses={404: Error})
    def tagged(tag: str) -> list[str]:
        """The names of the items with a tag."""
        return [item.name for item in store.items.values() if tag in item.tags]

    app.register_blueprint(items)
    return app


APP = create_app()
CONFIG = schemathesis.Config()
CONFIG.projects.default.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=50
)
SCHEMA = schemathesis.openapi.from_wsgi("/docs/openapi.json", APP, config=CONFIG)


def test_the_fuzzed_document_has_every_operation() -> None:
    operations = {
        (method.upper(), path)
        for path, item in SCHEMA.raw_schema["paths"].items()
        for method in item
    }
    assert operations == {
        ("GET", "/health"),
        ("GET", "/items"),
        ("POST", "/items"),
        ("GET", "/items/{item_id}"),
        ("PUT", "/items/{item_id}"),
        ("DELETE", "/items/{item_id}"),
        ("GET", "/items/by-ref/{ref}"),
        ("GET", "/items/tagged/{tag}"),
    }
    assert CONFIG.projects.default.generation.modes == [
        GenerationMode.POSITIVE,
        GenerationMode.NEGATIVE,
    ]


# derandomize: the same examples on every run, so a CI failure can be reproduced.
@SCHEMA.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_app_matches_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate()


@pytest.mark.parametrize("typo", ["/items?limit=0", "/items?limit=1&limit=2", "/items?offset=x"])
def test_the_app_rejects_bad_queries(typo: str) -> None:
    # A check of the app itself, so the fuzzing above is known to exercise real validation.
    with APP.test_client().get(typo) as response:
        assert response.status_code == 422
        assert response.is_json


# -- Flask's own answers ------------------------------------------------------------------
# An app as most are written: no error handlers, so Flask answers its own errors in HTML,
# and views read their body with request.get_json(). What Flask answers by itself (a 404 for
# a path value its converter refuses, ...) is the extension's to document.


class NewNote(te.TypedDict):
    text: str


def create_plain_app() -> Flask:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/numbers/<int:number>")
    def number(number: int) -> dict[str, int]:
        return {"number": number}

    @app.get("/prices/<float:price>")
    def price(price: float) -> dict[str, float]:
        return {"price": price}

    @app.get("/countries/<string(length=2):code>")
    def country(code: str) -> dict[str, str]:
        return {"code": code}

    @app.get("/years/<int(fixed_digits=4):year>")
    def year(year: int) -> dict[str, int]:
        return {"year": year}

    @app.get("/pair")
    def pair() -> tuple[dict[str, t.Any], int]:
        return {"created": True}, 200

    # Werkzeug tries the int rule first: /users/7 is one, /users/rex the other.
    @app.get("/users/<int:user_id>")
    def user_by_id(user_id: int) -> dict[str, int]:
        return {"id": user_id}

    @app.get("/users/<name>")
    def user_by_name(name: str) -> dict[str, str]:
        return {"name": name}

    @app.post("/notes")
    @apidocs.doc(body=NewNote, status=201, responses={422: "Not a note."})
    def add_note() -> tuple[dict[str, str], int]:
        data = request.get_json()  # 415 unless the body is JSON, 400 if it is broken JSON
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise UnprocessableEntity()
        return {"text": data["text"]}, 201

    # /pages/1 redirects (308) to /pages/, the rule whose defaults give page=1.
    @app.get("/pages/", defaults={"page": 1})
    @app.get("/pages/<int:page>")
    def pages(page: int) -> dict[str, int]:
        return {"page": page}

    return app


PLAIN = create_plain_app()
PLAIN_SCHEMA = schemathesis.openapi.from_wsgi("/docs/openapi.json", PLAIN, config=CONFIG)


@PLAIN_SCHEMA.parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_plain_app_matches_its_document(case: schemathesis.Case) -> None:
    case.call_and_validate()


def _parameter_schema(path: str, name: str) -> dict[str, t.Any]:
    parameters = PLAIN_SCHEMA.raw_schema["paths"][path]["get"]["parameters"]
    schema: dict[str, t.Any] = next(p["schema"] for p in parameters if p["name"] == name)
    return schema


@pytest.mark.parametrize(
    ("path", "name", "candidates"),
    [
        ("/numbers/{number}", "number", [0, 7, 10**20]),
        # Werkzeug routes <float:x> only as digits, a dot, digits: /prices/1 is a 404.
        ("/prices/{price}", "price", [1, 0, 1.5, "1.5", "-1.5"]),
        ("/countries/{code}", "code", ["a", "abc", "fr"]),
        # <int(fixed_digits=4):x> routes only four digits: /years/1 is a 404.
        ("/years/{year}", "year", [1, 2024, "2024", "0001"]),
    ],
)
def test_every_path_value_the_document_allows_is_routed(
    path: str, name: str, candidates: list[t.Any]
) -> None:
    schema = _parameter_schema(path, name)
    validator = jsonschema.Draft202012Validator(schema)
    allowed = [value for value in candidates if validator.is_valid(value)]
    assert allowed, f"no candidate fits {schema}"
    operation = PLAIN_SCHEMA[path]["GET"]
    for value in allowed:
        response = operation.Case(path_parameters={name: value}).call()
        assert response.status_code == 200, f"{path} with {value!r}: {response.status_code}"


def test_a_path_value_the_converter_refuses_gets_a_documented_status() -> None:
    # Flask's own 404, in HTML: documented without content, since its body is the app's.
    case = PLAIN_SCHEMA["/numbers/{number}"]["GET"].Case(path_parameters={"number": -1})
    assert case.call_and_validate().status_code == 404


def test_a_tuple_return_hint_documents_the_body_flask_sends() -> None:
    # Flask reads a returned tuple as (body, status): the body is what is sent.
    operation = PLAIN_SCHEMA.raw_schema["paths"]["/pair"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    with PLAIN.test_client().get("/pair") as response:
        assert response.status_code == 200
        jsonschema.validate(response.get_json(), schema)


def test_rules_that_differ_only_in_converters_make_one_path() -> None:
    first: dict[str, str] = {}
    clashes = []
    for path in PLAIN_SCHEMA.raw_schema["paths"]:
        shape = re.sub(r"\{[^}]*\}", "{}", path)
        if shape in first:
            clashes.append((first[shape], path))
        first.setdefault(shape, path)
    assert clashes == []


def test_flasks_answer_to_a_body_that_is_not_json_is_documented() -> None:
    case = PLAIN_SCHEMA["/notes"]["POST"].Case()  # no body, no Content-Type
    assert case.call_and_validate().status_code == 415


def test_the_redirect_to_a_rule_with_defaults_is_documented() -> None:
    case = PLAIN_SCHEMA["/pages/{page}"]["GET"].Case(path_parameters={"page": 1})
    assert case.call_and_validate().status_code == 308
