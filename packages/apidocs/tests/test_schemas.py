"""Python types to JSON Schema: the registry on its own, and the document it ends up in."""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import datetime
import decimal
import enum
import json
import typing as t
import uuid

import pydantic
import pytest
import typing_extensions as te
from flask import Flask, Response
from flask.typing import ResponseReturnValue
from openapi_spec_validator import validate

from flask_plug.apidocs import APIDocs, SchemaRegistry, UnsupportedType

Document = dict[str, t.Any]
Schema = dict[str, t.Any]


# -- Types under test: at module level, so string annotations resolve. ---------------------


class Color(enum.Enum):
    """A primary color."""

    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclasses.dataclass
class Settings:
    """What a user can change."""

    name: str
    theme: Color
    level: Level = Level.LOW
    labels: list[str] = dataclasses.field(default_factory=list)
    note: str | None = None


@dataclasses.dataclass
class Tree:
    label: str
    children: list[Tree] = dataclasses.field(default_factory=list)
    parent: Tree | None = None


@dataclasses.dataclass
class Owner:
    name: str


@dataclasses.dataclass
class Pet:
    owner: Owner
    friends: list[Owner]
    by_name: dict[str, Owner]


@dataclasses.dataclass
class Everything:
    when: datetime.datetime
    day: datetime.date
    at: datetime.time
    took: datetime.timedelta
    ident: uuid.UUID
    price: decimal.Decimal
    raw: bytes
    ok: bool
    ratio: float
    count: int
    anything: t.Any
    meta: t.Annotated[int, "a comment"]
    kind: t.Literal["a", "b"]
    only: t.Literal["x"]
    maybe: t.Optional[int]  # noqa: UP045 (the spelling under test)
    either: t.Union[int, str]  # noqa: UP007 (the spelling under test)
    pipe: int | None
    tags: set[str]
    frozen: frozenset[int]
    pair: tuple[int, str]
    many: tuple[float, ...]
    table: dict[str, int]
    seq: abc.Sequence[str]
    mapping: abc.Mapping[str, bool]
    bare_list: list  # type: ignore[type-arg]
    bare_dict: dict  # type: ignore[type-arg]


# typing_extensions.TypedDict: pydantic refuses typing.TypedDict on Python < 3.12.
class NewNote(te.TypedDict):
    title: str
    body: te.NotRequired[str]


class Patch(te.TypedDict, total=False):
    title: str
    body: str
    version: te.Required[int]


class NewTaggedNote(NewNote, total=False):
    tags: list[str]


class Address(pydantic.BaseModel):
    street: str
    city: str = "Paris"


class Person(pydantic.BaseModel):
    """A person, with an address."""

    name: str
    address: Address
    previous: list[Address] = []
    nickname: str | None = None


@dataclasses.dataclass
class Filters:
    q: str
    page: int = 1
    sort: t.Literal["new", "old"] = "new"
    tags: list[str] = dataclasses.field(default_factory=list)


class FilterDict(te.TypedDict, total=False):
    q: str
    limit: te.Required[int]


class FilterModel(pydantic.BaseModel):
    q: str
    limit: int = 10


class Plain:
    """Not a dataclass, TypedDict or model."""


@dataclasses.dataclass
class Broken:
    fine: int
    bad: Plain


class Node(pydantic.BaseModel):
    name: str
    children: list[Node] = []


class ExtensionsTypedDict(te.TypedDict):
    a: int


# Same __name__ as Owner, another module.
OtherOwner = dataclasses.make_dataclass("Owner", [("id", int)])
OtherOwner.__module__ = "elsewhere.models"
# Two pydantic models named Address in two modules, each nested in another model.
HomeAddress = pydantic.create_model("Address", street=(str, ...), __module__="mod_home")
OfficeAddress = pydantic.create_model("Address", floor=(int, ...), __module__="mod_office")
Resident = pydantic.create_model("Resident", home=(HomeAddress, ...), __module__="mod_home")
Company = pydantic.create_model("Company", office=(OfficeAddress, ...), __module__="mod_office")


@dataclasses.dataclass
class Shipment:
    to: Owner
    alias: OtherOwner  # type: ignore[valid-type]


# -- Helpers -------------------------------------------------------------------------------


def fetch(app: Flask) -> Document:
    with app.test_client().get("/docs/openapi.json") as response:
        assert response.status_code == 200
        document: Document = json.loads(response.get_data())
    validate(document)
    check_refs(document)
    return document


def check_refs(document: Document) -> None:
    """Every ``$ref`` points at a component that exists and is not an empty placeholder."""

    def walk(node: t.Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolved = resolve(document, node)
                assert resolved, node["$ref"]
                assert "$ref" not in resolved or resolved["$ref"] != node["$ref"]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)


def resolve(document: Document, schema: Schema) -> Schema:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix), ref
    resolved: Schema = document["components"]["schemas"][ref[len(prefix) :]]
    return resolved


def document_with(**doc: t.Any) -> Document:
    """The document of an app with one POST route described by ``@apidocs.doc(**doc)``."""
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/things")
    @apidocs.doc(**doc)
    def create() -> t.Any:
        return {}

    return fetch(app)


def request_schema(document: Document) -> Schema:
    schema: Schema = document["paths"]["/things"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]
    return schema


def response_schema(document: Document, status: str = "200") -> Schema:
    schema: Schema = document["paths"]["/things"]["post"]["responses"][status]["content"][
        "application/json"
    ]["schema"]
    return schema


# -- The registry ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (type(None), {"type": "null"}),
        (t.Any, {}),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
        (datetime.date, {"type": "string", "format": "date"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
        (decimal.Decimal, {"type": "string"}),  # pydantic sends a Decimal as a string
        (complex, {"type": "string"}),
        (t.Annotated[str, "meta"], {"type": "string"}),
        (t.Literal["on"], {"const": "on", "type": "string"}),
        (t.Literal["on", "off"], {"enum": ["on", "off"], "type": "string"}),
        (t.Literal["on", "off", 3], {"enum": ["on", "off", 3]}),  # no one type to name
        (t.Optional[int], {"anyOf": [{"type": "integer"}, {"type": "null"}]}),  # noqa: UP045
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (t.Union[int, str], {"anyOf": [{"type": "integer"}, {"type": "string"}]}),  # noqa: UP007
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (set[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (frozenset[str], {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "minItems": 2,
                "maxItems": 2,
            },
        ),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (abc.Sequence[int], {"type": "array", "items": {"type": "integer"}}),
        (abc.Mapping[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (
            list[list[int | None]],
            {
                "type": "array",
                "items": {
                    "type": "array",
                    "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                },
            },
        ),
    ],
)
def test_registry_maps_standard_types(annotation: t.Any, schema: Schema) -> None:
    registry = SchemaRegistry()
    assert registry.schema(annotation) == schema
    assert registry.components == {}


def test_a_decimal_is_a_number_or_a_string_in_and_a_string_out() -> None:
    # What pydantic's validation takes from JSON, and what its serialisation sends.
    registry = SchemaRegistry()
    assert registry.schema(decimal.Decimal, "validation") == {
        "anyOf": [{"type": "number"}, {"type": "string"}],
    }  # fmt: skip
    assert registry.schema(decimal.Decimal, "serialization") == {"type": "string"}
    validator = pydantic.TypeAdapter(decimal.Decimal)
    assert validator.validate_json("1.5") == validator.validate_json('"1.5"')
    assert json.loads(validator.dump_json(decimal.Decimal("1.5"))) == "1.5"


def test_registry_gives_named_types_a_component_and_a_ref() -> None:
    registry = SchemaRegistry()
    assert registry.schema(Settings) == {"$ref": "#/components/schemas/Settings"}
    assert registry.schema(list[Settings]) == {
        "type": "array", "items": {"$ref": "#/components/schemas/Settings"},
    }  # fmt: skip
    assert set(registry.components) == {"Settings", "Color", "Level"}
    assert registry.components["Color"] == {
        "enum": ["red", "green"], "type": "string", "title": "Color",
        "description": "A primary color.",
    }  # fmt: skip
    assert registry.components["Level"]["enum"] == [1, 2]


def test_dataclass_fields_with_defaults_or_factories_are_optional() -> None:
    registry = SchemaRegistry()
    registry.schema(Settings)
    settings = registry.components["Settings"]
    assert settings["required"] == ["name", "theme"]
    assert settings["description"] == "What a user can change."
    assert settings["properties"] == {
        "name": {"type": "string"},
        "theme": {"$ref": "#/components/schemas/Color"},
        # A default is shown (as the value the field is sent with); a factory's is not.
        "level": {"$ref": "#/components/schemas/Level", "default": 1},
        "labels": {"type": "array", "items": {"type": "string"}},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
    }


def test_a_dataclass_without_a_docstring_has_no_invented_description() -> None:
    registry = SchemaRegistry()
    registry.schema(Owner)
    assert "description" not in registry.components["Owner"]
    assert registry.components["Owner"]["title"] == "Owner"


@pytest.mark.parametrize(
    ("typed_dict", "required", "properties"),
    [
        (NewNote, ["title"], {"title", "body"}),
        (Patch, ["version"], {"title", "body", "version"}),
        (NewTaggedNote, ["title"], {"title", "body", "tags"}),
    ],
)
def test_typed_dict_required_keys(
    typed_dict: type, required: list[str], properties: set[str]
) -> None:
    registry = SchemaRegistry()
    registry.schema(typed_dict)
    schema = registry.components[typed_dict.__name__]
    assert schema["type"] == "object"
    assert set(schema["properties"]) == properties
    assert schema.get("required", []) == required
    # Required[...] / NotRequired[...] are stripped from the property schemas.
    assert all("anyOf" not in p for p in schema["properties"].values())


def test_a_typing_extensions_typed_dict_is_supported() -> None:
    registry = SchemaRegistry()
    assert registry.schema(ExtensionsTypedDict) == {
        "$ref": "#/components/schemas/ExtensionsTypedDict"
    }


def test_nested_and_self_referencing_dataclasses() -> None:
    registry = SchemaRegistry()
    registry.schema(Tree)
    registry.schema(Pet)
    tree = registry.components["Tree"]
    assert tree["properties"]["children"] == {
        "type": "array", "items": {"$ref": "#/components/schemas/Tree"},
    }  # fmt: skip
    assert tree["properties"]["parent"] == {
        "anyOf": [{"$ref": "#/components/schemas/Tree"}, {"type": "null"}], "default": None,
    }  # fmt: skip
    pet = registry.components["Pet"]["properties"]
    owner = {"$ref": "#/components/schemas/Owner"}
    assert pet == {
        "owner": owner,
        "friends": {"type": "array", "items": owner},
        "by_name": {"type": "object", "additionalProperties": owner},
    }
    assert set(registry.components) == {"Tree", "Pet", "Owner"}


def test_classes_with_the_same_name_from_two_modules_get_distinct_components() -> None:
    registry = SchemaRegistry()
    first = registry.schema(Owner)["$ref"]
    second = registry.schema(OtherOwner)["$ref"]
    assert first != second
    assert registry.schema(Owner)["$ref"] == first  # stable for the same class
    names = [ref.rsplit("/", 1)[-1] for ref in (first, second)]
    assert names == ["Owner", "Owner_"]
    assert registry.components[names[0]]["properties"] == {"name": {"type": "string"}}
    assert registry.components[names[1]]["properties"] == {"id": {"type": "integer"}}


def test_unsupported_types_raise() -> None:
    registry = SchemaRegistry()
    for annotation in (Plain, t.Callable[[], int]):
        with pytest.raises(UnsupportedType, match="no JSON Schema"):
            registry.schema(annotation)
    # pydantic names the class it cannot handle, inside the type that holds it.
    with pytest.raises(
        UnsupportedType, match=r"no JSON Schema for <class '[\w.]*Broken'>: .*Plain"
    ):
        registry.schema(Broken)
    assert registry.components == {}
    assert issubclass(UnsupportedType, TypeError)


# -- End to end ------------------------------------------------------------------------------


def test_every_supported_type_in_one_body_gives_a_valid_document() -> None:
    document = document_with(body=Everything, response=list[Settings], status=201)
    body = resolve(document, request_schema(document))
    properties = body["properties"]
    assert properties["when"] == {"type": "string", "format": "date-time"}
    assert properties["day"] == {"type": "string", "format": "date"}
    assert properties["ident"] == {"type": "string", "format": "uuid"}
    assert properties["price"] == {"anyOf": [{"type": "number"}, {"type": "string"}]}  # input
    assert properties["meta"] == {"type": "integer"}
    assert properties["kind"] == {"enum": ["a", "b"], "type": "string"}
    assert properties["only"] == {"const": "x", "type": "string"}
    assert properties["maybe"] == properties["pipe"]
    assert properties["pair"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert properties["many"] == {"type": "array", "items": {"type": "number"}}
    assert properties["tags"]["uniqueItems"] is True
    assert properties["table"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert len(body["required"]) == len(properties)
    response = response_schema(document, "201")
    assert response == {"type": "array", "items": {"$ref": "#/components/schemas/Settings"}}
    assert {"Everything", "Settings", "Color", "Level"} <= set(document["components"]["schemas"])


def test_typed_dict_bodies_in_the_document() -> None:
    document = document_with(body=Patch, response=NewTaggedNote)
    assert resolve(document, request_schema(document))["required"] == ["version"]
    assert resolve(document, response_schema(document))["required"] == ["title"]


def test_self_referencing_dataclass_in_the_document() -> None:
    document = document_with(body=Tree, response=Tree)
    assert request_schema(document) == response_schema(document)
    tree = resolve(document, request_schema(document))
    assert tree["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Tree"}


def test_pydantic_models_and_their_nested_models_become_components() -> None:
    document = document_with(body=Person, response=list[Person])
    schemas = document["components"]["schemas"]
    assert request_schema(document) == {"$ref": "#/components/schemas/Person"}
    person = schemas["Person"]
    assert person["required"] == ["name", "address"]
    assert person["description"] == "A person, with an address."
    assert person["properties"]["address"] == {"$ref": "#/components/schemas/Address"}
    assert person["properties"]["previous"]["items"] == {"$ref": "#/components/schemas/Address"}
    assert schemas["Address"]["required"] == ["street"]
    assert set(schemas["Address"]["properties"]) == {"street", "city"}
    assert "$defs" not in json.dumps(document)


def test_pydantic_and_dataclass_components_side_by_side() -> None:
    document = document_with(body=Person, response=Settings, responses={409: Tree})
    assert {"Person", "Address", "Settings", "Color", "Level", "Tree"} <= set(
        document["components"]["schemas"]
    )


def test_a_self_referencing_pydantic_model() -> None:
    document = document_with(body=Node)
    node = resolve(document, request_schema(document))
    assert set(node["properties"]) == {"name", "children"}
    assert node["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}


def test_nested_pydantic_models_with_the_same_name_stay_apart() -> None:
    document = document_with(body=Resident, response=Company)
    resident = resolve(document, request_schema(document))
    company = resolve(document, response_schema(document))
    home = resolve(document, resident["properties"]["home"])
    office = resolve(document, company["properties"]["office"])
    assert set(home["properties"]) == {"street"}
    assert set(office["properties"]) == {"floor"}


def test_a_nested_pydantic_model_does_not_take_a_dataclass_component() -> None:
    @dataclasses.dataclass
    class Address:  # noqa: F811 (the clash under test)
        po_box: int

    document = document_with(body=Address, response=Person)
    box = resolve(document, request_schema(document))
    person = resolve(document, response_schema(document))
    assert set(box["properties"]) == {"po_box"}
    assert set(resolve(document, person["properties"]["address"])["properties"]) == {
        "street", "city",
    }  # fmt: skip


def test_same_named_classes_in_one_document_get_distinct_components() -> None:
    document = document_with(body=Shipment, response=Owner)
    shipment = resolve(document, request_schema(document))
    to = resolve(document, shipment["properties"]["to"])
    alias = resolve(document, shipment["properties"]["alias"])
    assert shipment["properties"]["to"] != shipment["properties"]["alias"]
    assert set(to["properties"]) == {"name"}
    assert set(alias["properties"]) == {"id"}
    assert resolve(document, response_schema(document)) == to


def test_same_named_classes_nested_in_one_type_are_named_like_top_level_ones() -> None:
    document = document_with(body=Shipment, response=Owner)
    shipment = resolve(document, request_schema(document))
    assert response_schema(document) == shipment["properties"]["to"]  # one class, one component
    assert set(document["components"]["schemas"]) == {"Shipment", "Owner", "Owner_"}


def test_same_named_pydantic_models_at_top_level_get_distinct_components() -> None:
    first = pydantic.create_model("Ticket", a=(int, ...), __module__="mod_one")
    second = pydantic.create_model("Ticket", b=(str, ...), __module__="mod_two")
    document = document_with(body=first, response=second)
    body = resolve(document, request_schema(document))
    response = resolve(document, response_schema(document))
    assert set(body["properties"]) == {"a"}
    assert set(response["properties"]) == {"b"}


@pytest.mark.parametrize("where", ["body", "response"])
def test_an_unsupported_type_in_doc_raises_naming_the_endpoint(where: str) -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/broken")
    @apidocs.doc(**{where: Broken})
    def make_broken() -> t.Any:
        return {}

    with pytest.raises(UnsupportedType, match=r"'make_broken'.*Broken'>: .*Plain"):
        apidocs.document(app)
    app.testing = True
    with pytest.raises(UnsupportedType, match="'make_broken'"):
        app.test_client().get("/docs/openapi.json")


def test_unsupported_return_hints_are_ignored() -> None:
    app = Flask(__name__)
    APIDocs(app)

    @app.get("/response")
    def response() -> Response:
        return Response("")

    @app.get("/anything")
    def anything() -> ResponseReturnValue:
        return ""

    @app.get("/plain")
    def plain() -> Plain:
        return Plain()

    @app.get("/nothing")
    def nothing() -> None:
        return None

    @app.get("/html")
    def html() -> str:
        return "<p>hi</p>"

    document = fetch(app)
    for path in ("/response", "/anything", "/plain", "/nothing"):
        assert document["paths"][path]["get"]["responses"] == {"200": {"description": "OK"}}
    assert document["paths"]["/html"]["get"]["responses"]["200"]["content"] == {
        "text/html": {"schema": {"type": "string"}}
    }


def test_a_body_and_status_tuple_return_hint_is_not_an_array_body() -> None:
    app = Flask(__name__)
    APIDocs(app)

    @app.post("/created")
    def created() -> tuple[dict[str, int], int]:
        return {"id": 1}, 201

    document = fetch(app)
    responses = document["paths"]["/created"]["post"]["responses"]
    for response in responses.values():
        for content in response.get("content", {}).values():
            assert content["schema"].get("type") != "array"


def test_responses_by_status_with_types_and_descriptions() -> None:
    document = document_with(
        body=NewNote, responses={201: Settings, 404: "No such thing", 409: Owner, 204: Owner}
    )
    responses = document["paths"]["/things"]["post"]["responses"]
    assert list(responses) == ["201", "204", "400", "404", "409", "415"]
    assert responses["201"]["description"] == "Created"
    assert response_schema(document, "201") == {"$ref": "#/components/schemas/Settings"}
    assert responses["204"] == {"description": "No Content"}
    assert responses["404"] == {"description": "No such thing"}
    assert response_schema(document, "409") == {"$ref": "#/components/schemas/Owner"}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        (
            Filters,
            [("q", True, {"type": "string"}), ("page", False, {"type": "integer", "default": 1}),
             ("sort", False, {"enum": ["new", "old"], "type": "string", "default": "new"}),
             ("tags", False, {"type": "array", "items": {"type": "string"}})],
        ),
        (FilterDict, [("q", False, {"type": "string"}), ("limit", True, {"type": "integer"})]),
    ],
)  # fmt: skip
def test_query_models_become_query_parameters(
    model: type, expected: list[tuple[str, bool, Schema]]
) -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/search/<int:shelf>")
    @apidocs.doc(query=model)
    def search(shelf: int) -> str:
        return ""

    document = fetch(app)
    parameters = document["paths"]["/search/{shelf}"]["get"]["parameters"]
    assert parameters[0]["in"] == "path"
    assert [(p["name"], p["required"], p["schema"]) for p in parameters[1:]] == expected
    assert all(p["in"] == "query" for p in parameters[1:])


def test_a_pydantic_query_model_gives_required_flags() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/search")
    @apidocs.doc(query=FilterModel)
    def search() -> str:
        return ""

    document = fetch(app)
    parameters = document["paths"]["/search"]["get"]["parameters"]
    assert [(p["name"], p["in"], p["required"]) for p in parameters] == [
        ("q", "query", True), ("limit", "query", False),
    ]  # fmt: skip
    assert parameters[1]["schema"]["type"] == "integer"


def test_a_query_that_is_not_a_model_raises_naming_the_endpoint() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/search")
    @apidocs.doc(query=list[int])
    def search() -> str:
        return ""

    with pytest.raises(UnsupportedType, match="'search'"):
        apidocs.document(app)


def test_an_unsupported_query_class_raises_naming_the_endpoint() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/search")
    @apidocs.doc(query=Plain)
    def search() -> str:
        return ""

    with pytest.raises(UnsupportedType, match="'search'"):
        apidocs.document(app)
