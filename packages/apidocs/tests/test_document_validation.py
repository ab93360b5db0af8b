"""The document side of :meth:`APIDocs.validate`: what a validated view's signature says
about its operation, exactly, and every document valid OpenAPI 3.1."""

from __future__ import annotations

import dataclasses
import decimal
import json
import typing as t

import pydantic
import pytest
import typing_extensions as te
from flask import Blueprint, Flask
from flask.views import MethodView
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from flask_plug.apidocs import APIDocs, File, UnsupportedType

Document = dict[str, t.Any]
Schema = dict[str, t.Any]

VALIDATION_PROBLEM = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/ValidationProblem"}}
}
INVALID = {"description": "The input did not validate.", "content": VALIDATION_PROBLEM}
NOT_JSON = {"description": "The body is not JSON.", "content": VALIDATION_PROBLEM}
WRONG_TYPE = {"description": "The body is not of the expected type.", "content": VALIDATION_PROBLEM}
NOT_FOUND = {"description": "Not Found"}


# -- Types under test: at module level, so string annotations resolve. ---------------------


class NewItem(BaseModel):
    name: t.Annotated[str, Field(min_length=1, max_length=100)]
    price: float


class Item(BaseModel):
    id: int
    name: str
    price: float


class Paging(BaseModel):
    q: str
    page: int = 1
    tags: list[str] = []


class Auth(BaseModel):
    x_token: str
    user_agent: str | None = None


@dataclasses.dataclass
class Session:
    session_id: str
    theme: str = "light"


class Login(te.TypedDict):
    username: str
    password: str


class Upload(BaseModel):
    title: str
    file: File


class Gallery(BaseModel):
    title: str
    photos: list[File]
    cover: File | None = None


class Price(BaseModel):
    """Money: a number or a string in, a string out."""

    amount: decimal.Decimal


class Problem(BaseModel):
    message: str
    problems: list[dict[str, t.Any]]


# -- Helpers -------------------------------------------------------------------------------


def fetch(app: Flask) -> Document:
    """The document as a client gets it, checked to be valid OpenAPI."""
    with app.test_client().get("/docs/openapi.json") as response:
        assert response.status_code == 200
        document: Document = json.loads(response.get_data())
    validate(document)
    return document


def component(document: Document, schema: Schema) -> Schema:
    prefix = "#/components/schemas/"
    assert schema["$ref"].startswith(prefix), schema
    found: Schema = document["components"]["schemas"][schema["$ref"].removeprefix(prefix)]
    return found


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def json_content(name: str) -> dict[str, t.Any]:
    return {"application/json": {"schema": ref(name)}}


# -- Path, query, headers, cookies ---------------------------------------------------------


def test_path_variables_are_narrowed_by_their_annotations() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/shops/<int:shop_id>/items/<name>/<int:page>")
    @apidocs.validate
    def item(
        shop_id: t.Annotated[int, Field(ge=1)],
        name: t.Annotated[str, Field(max_length=20)],
        page: int,
    ) -> Item:
        return Item(id=shop_id, name=name, price=page)

    operation = fetch(app)["paths"]["/shops/{shop_id}/items/{name}/{page}"]["get"]
    assert operation["parameters"] == [
        {"name": "shop_id", "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 1}},
        {"name": "name", "in": "path", "required": True,
         "schema": {"type": "string", "pattern": "^[^/]+$", "minLength": 1, "maxLength": 20}},
        {"name": "page", "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 0}},  # the converter's, kept
    ]  # fmt: skip
    assert operation["responses"] == {
        "200": {"description": "OK", "content": json_content("Item")},
        "404": NOT_FOUND,
        "422": INVALID,
    }


def test_an_annotation_never_widens_what_the_converter_matches() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/n/<int:n>")
    @apidocs.validate
    def number(n: t.Annotated[int, Field(ge=-5, le=10)]) -> int:
        return n

    assert app.test_client().get("/n/-1").status_code == 404
    (parameter,) = fetch(app)["paths"]["/n/{n}"]["get"]["parameters"]
    assert parameter["schema"] == {"type": "integer", "minimum": 0, "maximum": 10}


def test_query_fields_are_query_parameters() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/items")
    @apidocs.validate
    def items(query: Paging) -> list[Item]:
        return []

    operation = fetch(app)["paths"]["/items"]["get"]
    assert operation["parameters"] == [
        {"name": "q", "in": "query", "required": True, "schema": {"type": "string"}},
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "default": 1}},
        {"name": "tags", "in": "query", "required": False,
         "schema": {"type": "array", "items": {"type": "string"}, "default": []}},
    ]  # fmt: skip
    assert "requestBody" not in operation
    assert operation["responses"] == {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"type": "array", "items": ref("Item")}}},
        },
        "422": INVALID,  # no body: no 400, no 415
    }


def test_header_fields_are_header_parameters_with_dashes() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/me")
    @apidocs.validate
    def me(headers: Auth) -> str:
        return headers.x_token

    operation = fetch(app)["paths"]["/me"]["get"]
    assert operation["parameters"] == [
        {"name": "x-token", "in": "header", "required": True, "schema": {"type": "string"}},
        {"name": "user-agent", "in": "header", "required": False,
         "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}},
    ]  # fmt: skip
    assert operation["responses"] == {
        "200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}},
        "422": INVALID,
    }


def test_cookie_fields_are_cookie_parameters_named_as_they_are() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/prefs")
    @apidocs.validate
    def prefs(cookies: Session) -> str:
        return cookies.theme

    operation = fetch(app)["paths"]["/prefs"]["get"]
    assert operation["parameters"] == [
        {"name": "session_id", "in": "cookie", "required": True, "schema": {"type": "string"}},
        {"name": "theme", "in": "cookie", "required": False,
         "schema": {"type": "string", "default": "light"}},
    ]  # fmt: skip


def test_every_location_in_one_operation_in_order() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/shops/<int:shop_id>/items")
    @apidocs.validate
    def create(shop_id: int, body: NewItem, query: Paging, headers: Auth, cookies: Session) -> Item:
        return Item(id=shop_id, name=body.name, price=body.price)

    operation = fetch(app)["paths"]["/shops/{shop_id}/items"]["post"]
    assert [(p["in"], p["name"]) for p in operation["parameters"]] == [
        ("path", "shop_id"), ("query", "q"), ("query", "page"), ("query", "tags"),
        ("header", "x-token"), ("header", "user-agent"),
        ("cookie", "session_id"), ("cookie", "theme"),
    ]  # fmt: skip
    assert set(operation["responses"]) == {"200", "400", "404", "415", "422"}


# Python names of fields, with underscores; header ones get an "x_" so that none is a
# header the test client or Werkzeug treats specially (Host, Content-Type …).
field_names = st.from_regex(r"[a-z][a-z0-9]{0,5}(_[a-z0-9]{1,5}){0,2}", fullmatch=True)
safe_values = st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    location=st.sampled_from(["query", "headers", "cookies"]),
    names=st.lists(field_names, min_size=1, max_size=4, unique=True),
    data=st.data(),
)
def test_the_documented_parameters_are_the_ones_the_validator_reads(
    location: str, names: list[str], data: st.DataObject
) -> None:
    if location == "headers":
        names = [f"x_{name}" for name in names]
    fields = te.TypedDict("Fields", {name: str for name in names})  # type: ignore[misc]
    app = Flask(__name__)
    apidocs = APIDocs(app)

    def by_query(query: t.Any) -> dict[str, str]:
        return dict(query)

    def by_headers(headers: t.Any) -> dict[str, str]:
        return dict(headers)

    def by_cookies(cookies: t.Any) -> dict[str, str]:
        return dict(cookies)

    view = {"query": by_query, "headers": by_headers, "cookies": by_cookies}[location]
    view.__annotations__ = {location: fields, "return": dict[str, str]}
    app.add_url_rule("/fields", "fields", apidocs.validate(view))

    parameters = fetch(app)["paths"]["/fields"]["get"]["parameters"]
    where = {"query": "query", "headers": "header", "cookies": "cookie"}[location]
    documented = [name.replace("_", "-") if location == "headers" else name for name in names]
    assert parameters == [
        {"name": name, "in": where, "required": True, "schema": {"type": "string"}}
        for name in documented
    ]
    values = data.draw(st.lists(safe_values, min_size=len(names), max_size=len(names)))
    sent = dict(zip(documented, values, strict=True))

    def request(pairs: dict[str, str]) -> t.Any:
        client = app.test_client()
        if location == "query":
            return client.get("/fields", query_string=pairs)
        if location == "headers":
            return client.get("/fields", headers=pairs)
        for name, value in pairs.items():
            client.set_cookie(name, value)
        return client.get("/fields")

    # Sent by the names the document gives, every value reaches the view.
    with request(sent) as response:
        assert response.status_code == 200
        assert response.get_json() == dict(zip(names, values, strict=True))
    # Without one, the problem names it as the document does.
    missing = data.draw(st.sampled_from(documented))
    with request({k: v for k, v in sent.items() if k != missing}) as response:
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {"location": location, "field": [missing], "message": "Field required",
             "type": "missing"},
        ]  # fmt: skip


# -- Request bodies ------------------------------------------------------------------------


def test_a_json_body_is_required_and_described_as_input() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/prices")
    @apidocs.validate
    def add_price(body: Price) -> Price:
        return body

    document = fetch(app)
    operation = document["paths"]["/prices"]["post"]
    assert operation["requestBody"] == {"required": True, "content": json_content("Price")}
    schemas = document["components"]["schemas"]
    # The body in pydantic's validation mode, the response in its serialisation mode: two
    # components for the one model, since what it takes and what it sends differ.
    assert schemas["Price"] == {
        "type": "object",
        "title": "Price",
        "description": "Money: a number or a string in, a string out.",
        "properties": {"amount": {"anyOf": [{"type": "number"}, {"type": "string"}]}},
        "required": ["amount"],
    }
    response = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert component(document, response)["properties"] == {"amount": {"type": "string"}}
    assert response == ref("Price_")
    assert operation["responses"]["400"] == NOT_JSON
    assert operation["responses"]["415"] == WRONG_TYPE
    assert operation["responses"]["422"] == INVALID


def test_a_body_with_a_default_is_optional() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/items")
    @apidocs.validate
    def add(body: list[NewItem] = []) -> list[Item]:  # noqa: B006 (never mutated)
        return []

    document = fetch(app)
    request_body = document["paths"]["/items"]["post"]["requestBody"]
    assert request_body == {
        "required": False,
        "content": {"application/json": {"schema": {"type": "array", "items": ref("NewItem")}}},
    }
    assert document["components"]["schemas"]["NewItem"] == {
        "type": "object",
        "title": "NewItem",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "price": {"type": "number"},
        },
        "required": ["name", "price"],
    }


class Options(BaseModel):
    verbose: bool = False


def test_a_body_documented_as_optional_may_be_left_out() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/run")
    @apidocs.validate
    def run(body: Options | None = None) -> str:
        return "default" if body is None else "sent"

    request_body = fetch(app)["paths"]["/run"]["post"]["requestBody"]
    assert request_body["required"] is False
    with app.test_client().post("/run") as response:
        assert response.status_code == 200
        assert response.get_data(as_text=True) == "default"


def test_a_form_documented_as_optional_may_be_left_out() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/run")
    @apidocs.validate
    def run(form: Options = Options()) -> str:  # noqa: B008 (never mutated)
        return "verbose" if form.verbose else "quiet"

    request_body = fetch(app)["paths"]["/run"]["post"]["requestBody"]
    assert request_body["required"] is False
    with app.test_client().post("/run") as response:
        assert response.status_code == 200
        assert response.get_data(as_text=True) == "quiet"


def test_a_form_without_files_is_urlencoded() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/login")
    @apidocs.validate
    def login(form: Login) -> str:
        return form["username"]

    document = fetch(app)
    operation = document["paths"]["/login"]["post"]
    assert operation["requestBody"] == {
        "required": True,
        "content": {"application/x-www-form-urlencoded": {"schema": ref("Login")}},
    }
    assert document["components"]["schemas"]["Login"]["properties"] == {
        "username": {"type": "string"}, "password": {"type": "string"},
    }  # fmt: skip
    # A form is never JSON: no 400, but 415 for another content type.
    assert operation["responses"] == {
        "200": {"description": "OK", "content": {"text/html": {"schema": {"type": "string"}}}},
        "415": WRONG_TYPE,
        "422": INVALID,
    }


def test_a_form_with_a_file_is_multipart_with_a_binary_field() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/upload")
    @apidocs.validate
    def upload(form: Upload) -> str:
        return form.title

    document = fetch(app)
    assert document["paths"]["/upload"]["post"]["requestBody"] == {
        "required": True,
        "content": {"multipart/form-data": {"schema": ref("Upload")}},
    }
    assert document["components"]["schemas"]["Upload"]["properties"] == {
        "title": {"type": "string"}, "file": {"type": "string", "format": "binary"},
    }  # fmt: skip


def test_a_form_with_a_list_of_files_or_an_optional_one_is_multipart() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/gallery")
    @apidocs.validate
    def gallery(form: Gallery) -> str:
        return form.title

    binary = {"type": "string", "format": "binary"}
    document = fetch(app)
    assert document["paths"]["/gallery"]["post"]["requestBody"] == {
        "required": True,
        "content": {"multipart/form-data": {"schema": ref("Gallery")}},
    }
    assert document["components"]["schemas"]["Gallery"]["properties"] == {
        "title": {"type": "string"},
        "photos": {"type": "array", "items": binary},
        "cover": {"anyOf": [binary, {"type": "null"}], "default": None},
    }


def test_body_and_response_examples_land_on_their_media_types() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/items")
    @apidocs.doc(
        status=201,
        body_example={"name": "Tea", "price": 2.5},
        response_example={"id": 7, "name": "Tea", "price": 2.5},
    )
    @apidocs.validate
    def create(body: NewItem) -> tuple[Item, int]:
        return Item(id=7, name=body.name, price=body.price), 201

    operation = fetch(app)["paths"]["/items"]["post"]
    assert operation["requestBody"]["content"] == {
        "application/json": {"schema": ref("NewItem"), "example": {"name": "Tea", "price": 2.5}},
    }  # fmt: skip
    assert operation["responses"]["201"] == {
        "description": "Created",
        "content": {
            "application/json": {
                "schema": ref("Item"), "example": {"id": 7, "name": "Tea", "price": 2.5},
            },
        },
    }  # fmt: skip
    assert "example" not in json.dumps(operation["responses"]["422"])


def test_the_body_declared_twice_raises_naming_the_endpoint() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/items")
    @apidocs.doc(body=Item)
    @apidocs.validate
    def twice(body: NewItem) -> Item:
        return Item(id=1, name=body.name, price=body.price)

    with pytest.raises(UnsupportedType, match=r"endpoint 'twice': the body is declared twice"):
        apidocs.document(app)


def test_the_query_declared_twice_raises_naming_the_endpoint() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/items")
    @apidocs.doc(query=Paging)
    @apidocs.validate
    def listed(query: Paging) -> list[Item]:
        return []

    with pytest.raises(UnsupportedType, match=r"endpoint 'listed': the query is declared twice"):
        apidocs.document(app)


# -- Responses -----------------------------------------------------------------------------


def test_the_success_response_comes_from_the_return_annotation() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.post("/items")
    @apidocs.validate
    def create(body: NewItem) -> tuple[Item, int]:
        return Item(id=1, name=body.name, price=body.price), 201

    @app.post("/created")
    @apidocs.doc(status=201)
    @apidocs.validate
    def created(body: NewItem) -> tuple[Item, int, dict[str, str]]:
        return Item(id=1, name=body.name, price=body.price), 201, {}

    document = fetch(app)
    responses = document["paths"]["/items"]["post"]["responses"]
    # (value, status): the value's type is the body; without doc(status=...), 200.
    assert responses["200"] == {"description": "OK", "content": json_content("Item")}
    assert set(responses) == {"200", "400", "415", "422"}
    responses = document["paths"]["/created"]["post"]["responses"]
    assert responses["201"] == {"description": "Created", "content": json_content("Item")}
    assert set(responses) == {"201", "400", "415", "422"}


def test_a_validated_view_without_inputs_has_no_validation_responses() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/items")
    @apidocs.validate
    def items() -> list[Item]:
        return []

    document = fetch(app)
    assert set(document["paths"]["/items"]["get"]["responses"]) == {"200"}
    assert "ValidationProblem" not in document["components"]["schemas"]


def test_the_validation_problem_component() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @app.get("/items")
    @apidocs.validate
    def items(query: Paging) -> list[Item]:
        return []

    problem = fetch(app)["components"]["schemas"]["ValidationProblem"]
    assert problem["required"] == ["type", "title", "status", "detail", "errors"]
    error = problem["properties"]["errors"]["items"]
    assert error["required"] == ["location", "field", "message", "type"]
    assert error["properties"]["location"]["enum"] == [
        "body", "query", "form", "headers", "cookies", "path",
    ]  # fmt: skip
    # What an actual refusal answers fits it.
    with app.test_client().get("/items") as response:
        assert response.status_code == 422
        assert response.mimetype == "application/problem+json"
        body = response.get_json()
    assert set(body) == set(problem["properties"])
    assert body["errors"] == [
        {"location": "query", "field": ["q"], "message": "Field required", "type": "missing"}
    ]


def test_a_model_named_validation_problem_keeps_its_name() -> None:
    # The app's own type wins the name; the built-in problem takes the next free one.
    mine = pydantic.create_model("ValidationProblem", mine=(int, ...), __module__="app.models")
    wrapper = pydantic.create_model("Wrapper", problem=(mine, ...), __module__="app.models")
    app = Flask(__name__)
    apidocs = APIDocs(app)

    @apidocs.validate
    def own(query: Paging) -> t.Any:
        return mine(mine=1)

    @apidocs.validate
    def nested(query: Paging) -> t.Any:
        return wrapper(problem=mine(mine=1))

    own.__annotations__["return"] = mine
    nested.__annotations__["return"] = wrapper
    app.add_url_rule("/own", "own", own)
    app.add_url_rule("/nested", "nested", nested)

    document = fetch(app)
    schemas = document["components"]["schemas"]
    assert {n for n in schemas if n.startswith("ValidationProblem")} == {
        "ValidationProblem", "ValidationProblem_",
    }  # fmt: skip
    assert set(schemas["ValidationProblem"]["properties"]) == {"mine"}
    assert "errors" in schemas["ValidationProblem_"]["properties"]
    for path in ("/own", "/nested"):
        responses = document["paths"][path]["get"]["responses"]
        (problem,) = responses["422"]["content"].values()
        assert problem == {"schema": ref("ValidationProblem_")}
    (own_body,) = document["paths"]["/own"]["get"]["responses"]["200"]["content"].values()
    assert own_body == {"schema": ref("ValidationProblem")}
    assert schemas["Wrapper"]["properties"]["problem"] == ref("ValidationProblem")


def test_error_schema_replaces_the_validation_problem() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app, error_schema=Problem)

    @app.post("/items")
    @apidocs.validate
    def create(body: NewItem) -> Item:
        return Item(id=1, name=body.name, price=body.price)

    document = fetch(app)
    responses = document["paths"]["/items"]["post"]["responses"]
    for status in ("400", "415", "422"):
        (content,) = responses[status]["content"].values()
        assert content == {"schema": ref("Problem")}
    schemas = document["components"]["schemas"]
    assert "ValidationProblem" not in schemas
    assert schemas["Problem"]["required"] == ["message", "problems"]


def test_error_schema_documents_the_media_type_the_handler_answers() -> None:
    from flask_plug.apidocs import RequestValidationError

    app = Flask(__name__)
    apidocs = APIDocs(app, error_schema=Problem)

    @app.errorhandler(RequestValidationError)
    def invalid(error: RequestValidationError) -> tuple[dict[str, t.Any], int]:
        return {"message": error.description, "problems": error.errors}, error.code or 422

    @app.post("/items")
    @apidocs.validate
    def create(body: NewItem) -> Item:
        return Item(id=1, name=body.name, price=body.price)

    with app.test_client().post("/items", json={}) as response:
        assert response.status_code == 422
        answered = response.mimetype
    (media,) = fetch(app)["paths"]["/items"]["post"]["responses"]["422"]["content"]
    assert media == answered


# -- Options -------------------------------------------------------------------------------


def test_servers() -> None:
    servers = [
        {"url": "https://api.example.com", "description": "Production"},
        {"url": "/v1"},
    ]
    app = Flask(__name__)
    APIDocs(app, servers=servers)
    assert fetch(app)["servers"] == servers

    app = Flask(__name__)
    app.config["APIDOCS_SERVERS"] = servers[1:]
    APIDocs(app)
    assert fetch(app)["servers"] == servers[1:]

    app = Flask(__name__)
    APIDocs(app)
    assert "servers" not in fetch(app)


@pytest.mark.parametrize(
    ("option", "value", "key"),
    [
        ("servers", "x", "APIDOCS_SERVERS"),
        ("servers", ["https://api.example.com"], "APIDOCS_SERVERS"),
        ("servers", {"url": "/"}, "APIDOCS_SERVERS"),
        ("security_schemes", {"a": {"type": "nope"}}, "APIDOCS_SECURITY_SCHEMES"),
        ("security_schemes", ["ApiKey"], "APIDOCS_SECURITY_SCHEMES"),
        ("error_schema", object(), "APIDOCS_ERROR_SCHEMA"),
    ],
)
def test_invalid_option_values_fail_at_init_app_naming_the_key(
    option: str, value: t.Any, key: str
) -> None:
    with pytest.raises(ValueError, match=key):
        APIDocs(Flask(__name__), **{option: value})
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(ValueError, match=key):
        APIDocs().init_app(app)


SCHEMES: dict[str, dict[str, t.Any]] = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "Basic": {"type": "http", "scheme": "basic"},
    "OAuth": {
        "type": "oauth2",
        "flows": {
            "clientCredentials": {
                "tokenUrl": "https://auth.example.com/token",
                "scopes": {"read": "Read items", "write": "Change items"},
            }
        },
    },
}


def test_security_schemes_and_what_each_view_needs() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app, security_schemes=SCHEMES)

    @app.get("/key")
    @apidocs.doc(security=["ApiKey"])
    @apidocs.validate
    def key(query: Paging) -> list[Item]:
        return []

    @app.get("/either")
    @apidocs.doc(security=["ApiKey", "Basic"])
    @apidocs.validate
    def either() -> list[Item]:
        return []

    @app.get("/scoped")
    @apidocs.doc(security={"OAuth": ["read"]})
    @apidocs.validate
    def scoped() -> list[Item]:
        return []

    @app.get("/public")
    @apidocs.doc(security=[])
    @apidocs.validate
    def public() -> list[Item]:
        return []

    @app.get("/unsaid")
    @apidocs.validate
    def unsaid() -> list[Item]:
        return []

    document = fetch(app)
    assert document["components"]["securitySchemes"] == SCHEMES
    paths = document["paths"]
    assert paths["/key"]["get"]["security"] == [{"ApiKey": []}]
    assert paths["/either"]["get"]["security"] == [{"ApiKey": []}, {"Basic": []}]
    assert paths["/scoped"]["get"]["security"] == [{"OAuth": ["read"]}]
    assert paths["/public"]["get"]["security"] == []
    assert "security" not in paths["/unsaid"]["get"]


@pytest.mark.parametrize("security", [["ApiKey", "Nope"], {"Nope": ["read"]}])
def test_an_unknown_security_scheme_raises_naming_the_endpoint(security: t.Any) -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app, security_schemes=SCHEMES)

    @app.get("/items")
    @apidocs.doc(security=security)
    @apidocs.validate
    def items() -> list[Item]:
        return []

    with pytest.raises(ValueError, match=r"endpoint 'items': .*Nope"):
        apidocs.document(app)


def test_a_blueprints_security_holds_for_its_views() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app, security_schemes=SCHEMES)
    api = apidocs.doc(security=["ApiKey"])(Blueprint("api", __name__, url_prefix="/api"))

    @api.get("/items")
    @apidocs.validate
    def items() -> list[Item]:
        return []

    @api.get("/summed")
    @apidocs.doc(summary="Items, summed up.")
    @apidocs.validate
    def summed() -> list[Item]:
        return []

    @api.get("/health")
    @apidocs.doc(security=[])
    @apidocs.validate
    def health() -> str:
        return "ok"

    @api.get("/scoped")
    @apidocs.doc(security={"OAuth": ["write"]})
    @apidocs.validate
    def scoped() -> str:
        return "ok"

    @app.get("/outside")
    @apidocs.validate
    def outside() -> str:
        return "ok"

    app.register_blueprint(api)
    paths = fetch(app)["paths"]
    assert paths["/api/items"]["get"]["security"] == [{"ApiKey": []}]
    assert paths["/api/summed"]["get"]["security"] == [{"ApiKey": []}]
    assert paths["/api/summed"]["get"]["summary"] == "Items, summed up."
    assert paths["/api/health"]["get"]["security"] == []
    assert paths["/api/scoped"]["get"]["security"] == [{"OAuth": ["write"]}]
    assert "security" not in paths["/outside"]["get"]


def test_an_outer_blueprints_security_holds_in_a_nested_one() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app, security_schemes=SCHEMES)
    outer = apidocs.doc(security=["Basic"])(Blueprint("outer", __name__))
    inner = Blueprint("inner", __name__)
    scoped = apidocs.doc(security={"OAuth": ["read"]})(Blueprint("scoped", __name__))

    @inner.get("/x")
    @apidocs.validate
    def x(query: Paging) -> str:
        return ""

    @scoped.get("/y")
    @apidocs.validate
    def y(query: Paging) -> str:
        return ""

    outer.register_blueprint(inner, url_prefix="/inner")
    outer.register_blueprint(scoped, url_prefix="/scoped")
    app.register_blueprint(outer, url_prefix="/outer")
    paths = fetch(app)["paths"]
    assert paths["/outer/inner/x"]["get"]["security"] == [{"Basic": []}]
    assert paths["/outer/scoped/y"]["get"]["security"] == [{"OAuth": ["read"]}]  # innermost


def test_response_headers_on_success_responses() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)
    count = {"description": "How many there are.", "schema": {"type": "integer", "minimum": 0}}

    @app.get("/items")
    @apidocs.doc(
        response_headers={"X-Total-Count": count, "X-Request-Id": "Quote it in bug reports."}
    )
    @apidocs.validate
    def items(query: Paging) -> list[Item]:
        return []

    responses = fetch(app)["paths"]["/items"]["get"]["responses"]
    assert responses["200"]["headers"] == {
        "X-Total-Count": count,
        "X-Request-Id": {"description": "Quote it in bug reports.", "schema": {"type": "string"}},
    }
    assert "headers" not in responses["422"]


def test_a_rate_limited_validated_view_documents_the_ratelimit_headers() -> None:
    ratelimit = pytest.importorskip("flask_plug.ratelimit")
    app = Flask(__name__)
    limiter = ratelimit.RateLimiter(app)
    apidocs = APIDocs(app)

    @apidocs.doc(status=201, response_headers={"Location": "The new item."})
    @apidocs.validate
    def create(body: NewItem) -> tuple[Item, int]:
        return Item(id=1, name=body.name, price=body.price), 201

    app.add_url_rule("/items", "create", limiter.limit("5 per 1 minute")(create), methods=["POST"])

    @app.get("/free")
    @apidocs.validate
    def free(query: Paging) -> list[Item]:
        return []

    document = fetch(app)
    responses = document["paths"]["/items"]["post"]["responses"]
    assert set(responses["201"]["headers"]) == {"RateLimit", "RateLimit-Policy", "Location"}
    assert responses["201"]["headers"]["RateLimit"]["schema"] == {"type": "string"}
    assert "Retry-After" in responses["429"]["headers"]
    assert "5 per 1 minute" in responses["429"]["description"]
    assert "headers" not in responses["422"]
    unlimited = document["paths"]["/free"]["get"]["responses"]
    assert "headers" not in unlimited["200"]
    assert "429" not in unlimited


# -- Kinds of views ------------------------------------------------------------------------


def test_a_method_view_with_validated_methods() -> None:
    app = Flask(__name__)
    apidocs = APIDocs(app)

    class ItemAPI(MethodView):
        @apidocs.validate
        def get(self, item_id: t.Annotated[int, Field(ge=1)]) -> Item:
            """Get an item."""
            return Item(id=item_id, name="x", price=1)

        @apidocs.doc(status=201)
        @apidocs.validate
        def put(self, item_id: int, body: NewItem) -> Item:
            return Item(id=item_id, name=body.name, price=body.price)

        def delete(self, item_id: int) -> str:
            return ""

    app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
    item = fetch(app)["paths"]["/items/{item_id}"]
    assert item["get"]["summary"] == "Get an item."
    assert item["get"]["parameters"] == [
        {"name": "item_id", "in": "path", "required": True,
         "schema": {"type": "integer", "minimum": 1}},
    ]  # fmt: skip
    assert item["get"]["responses"] == {
        "200": {"description": "OK", "content": json_content("Item")},
        "404": NOT_FOUND,
        "422": INVALID,
    }
    assert item["put"]["requestBody"] == {"required": True, "content": json_content("NewItem")}
    assert item["put"]["responses"] == {
        "201": {"description": "Created", "content": json_content("Item")},
        "400": NOT_JSON,
        "404": NOT_FOUND,
        "415": WRONG_TYPE,
        "422": INVALID,
    }
    # Not validated: no 422, the converter's schema.
    assert set(item["delete"]["responses"]) == {"200", "404"}
    assert item["delete"]["parameters"][0]["schema"] == {"type": "integer", "minimum": 0}


def test_an_async_validated_view_is_documented_like_a_sync_one() -> None:
    sync_app = Flask(__name__)
    sync_docs = APIDocs(sync_app)
    async_app = Flask(__name__)
    async_docs = APIDocs(async_app)

    @sync_app.post("/shops/<int:shop_id>/items")
    @sync_docs.doc(status=201)
    @sync_docs.validate
    def create(
        shop_id: t.Annotated[int, Field(ge=1)], body: NewItem, query: Paging, headers: Auth
    ) -> Item:
        """Create an item."""
        return Item(id=shop_id, name=body.name, price=body.price)

    @async_app.post("/shops/<int:shop_id>/items")
    @async_docs.doc(status=201)
    @async_docs.validate
    async def create_async(
        shop_id: t.Annotated[int, Field(ge=1)], body: NewItem, query: Paging, headers: Auth
    ) -> Item:
        """Create an item."""
        return Item(id=shop_id, name=body.name, price=body.price)

    documented = fetch(async_app)
    operation = documented["paths"]["/shops/{shop_id}/items"]["post"]
    assert operation["operationId"] == "create_async"
    operation["operationId"] = "create"
    assert documented == fetch(sync_app)
    assert operation["responses"]["201"] == {
        "description": "Created", "content": json_content("Item"),
    }  # fmt: skip
