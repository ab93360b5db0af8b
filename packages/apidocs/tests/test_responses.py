"""The response side of ``@apidocs.validate``: what a view returns is sent as JSON of its
annotated type, with only the fields that type declares."""

from __future__ import annotations

import dataclasses
import typing as t

import pytest
import typing_extensions
from flask import Flask, Response
from flask.views import MethodView
from pydantic import BaseModel

from flask_plug.apidocs import APIDocs, ResponseValidationError

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

HIDDEN = "s3cret-value"
# Flask's route types (ResponseReturnValue) know nothing of a view returning a model or a
# dataclass, which @apidocs.validate turns into a response: each such route is marked
# "type: ignore[type-var]" (mypy --strict flags them once validate's type says so).


class Item(BaseModel):
    id: int
    name: str


class SecretItem(Item):
    secret: str = HIDDEN


class Box(BaseModel):
    item: Item
    items: list[Item] = []


@dataclasses.dataclass
class Pair:
    id: int
    name: str


@dataclasses.dataclass
class SecretPair(Pair):
    secret: str = HIDDEN


class Note(typing_extensions.TypedDict):
    id: int
    name: str


@pytest.fixture
def apidocs() -> APIDocs:
    return APIDocs()


def make_app(apidocs: APIDocs, **config: t.Any) -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.config.update(config)
    apidocs.init_app(app)
    return app


@pytest.fixture
def app(apidocs: APIDocs) -> Flask:
    app = make_app(apidocs)

    @app.get("/model")  # type: ignore[type-var]
    @apidocs.validate
    def model() -> Item:
        return SecretItem(id=1, name="a")

    @app.get("/nested")  # type: ignore[type-var]
    @apidocs.validate
    def nested() -> Box:
        return Box(item=SecretItem(id=1, name="a"), items=[SecretItem(id=2, name="b")])

    @app.get("/dataclass")  # type: ignore[type-var]
    @apidocs.validate
    def dataclass() -> Pair:
        return SecretPair(1, "a")

    @app.get("/typeddict")
    @apidocs.validate
    def typeddict() -> Note:
        return t.cast(Note, {"id": 1, "name": "a", "secret": HIDDEN})

    @app.get("/models")
    @apidocs.validate
    def models() -> list[Item]:
        return [SecretItem(id=1, name="a"), Item(id=2, name="b")]

    @app.get("/dataclasses")
    @apidocs.validate
    def dataclasses_() -> list[Pair]:
        return [SecretPair(1, "a"), Pair(2, "b")]

    @app.get("/typeddicts")
    @apidocs.validate
    def typeddicts() -> list[Note]:
        return [t.cast(Note, {"id": 1, "name": "a", "secret": HIDDEN})]

    @app.get("/dict-for-model")  # type: ignore[type-var]
    @apidocs.validate
    def dict_for_model() -> Item:
        return t.cast(Item, {"id": 1, "name": "a", "secret": HIDDEN})

    @app.get("/dicts-for-models")
    @apidocs.validate
    def dicts_for_models() -> list[Item]:
        return t.cast(list[Item], [{"id": 1, "name": "a", "secret": HIDDEN}])

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/model", {"id": 1, "name": "a"}),
        ("/nested", {"item": {"id": 1, "name": "a"}, "items": [{"id": 2, "name": "b"}]}),
        ("/dataclass", {"id": 1, "name": "a"}),
        ("/typeddict", {"id": 1, "name": "a"}),
        ("/models", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]),
        ("/dataclasses", [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]),
        ("/typeddicts", [{"id": 1, "name": "a"}]),
        ("/dict-for-model", {"id": 1, "name": "a"}),
        ("/dicts-for-models", [{"id": 1, "name": "a"}]),
    ],
)
def test_only_the_declared_fields(client: FlaskClient, path: str, expected: t.Any) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == expected
    assert HIDDEN not in response.get_data(as_text=True)
    assert "secret" not in response.get_data(as_text=True)


def test_status_and_headers_in_a_tuple(apidocs: APIDocs) -> None:
    app = make_app(apidocs)

    @app.get("/status")  # type: ignore[type-var]
    @apidocs.validate
    def status() -> tuple[Item, int]:
        return SecretItem(id=1, name="a"), 201

    @app.get("/status-headers")  # type: ignore[type-var]
    @apidocs.validate
    def status_headers() -> tuple[Item, int, dict[str, str]]:
        return SecretItem(id=1, name="a"), 202, {"X-A": "1"}

    @app.get("/headers")  # type: ignore[type-var]
    @apidocs.validate
    def headers() -> tuple[Item, dict[str, str]]:
        return SecretItem(id=1, name="a"), {"X-A": "1"}

    @app.get("/list-headers")
    @apidocs.validate
    def list_headers() -> tuple[list[Item], list[tuple[str, str]]]:
        return [SecretItem(id=1, name="a")], [("X-A", "1")]

    client = app.test_client()
    expected = {"id": 1, "name": "a"}
    response = client.get("/status")
    assert (response.status_code, response.get_json()) == (201, expected)
    response = client.get("/status-headers")
    assert (response.status_code, response.get_json()) == (202, expected)
    assert response.headers["X-A"] == "1"
    response = client.get("/headers")
    assert (response.status_code, response.get_json()) == (200, expected)
    assert response.headers["X-A"] == "1"
    response = client.get("/list-headers")
    assert (response.status_code, response.get_json()) == (200, [expected])
    assert response.headers["X-A"] == "1"
    for path in ("/status", "/status-headers", "/headers", "/list-headers"):
        assert client.get(path).mimetype == "application/json"
        assert HIDDEN not in client.get(path).get_data(as_text=True)


def test_declared_status(apidocs: APIDocs) -> None:
    app = make_app(apidocs)

    @app.post("/bare")  # type: ignore[type-var]
    @apidocs.doc(status=201)
    @apidocs.validate
    def bare() -> Item:
        return SecretItem(id=1, name="a")

    @app.post("/explicit")  # type: ignore[type-var]
    @apidocs.doc(status=201)
    @apidocs.validate
    def explicit() -> tuple[Item, int]:
        return Item(id=1, name="a"), 200

    @app.post("/headers")  # type: ignore[type-var]
    @apidocs.doc(status=201)
    @apidocs.validate
    def headers() -> tuple[Item, dict[str, str]]:
        return Item(id=1, name="a"), {"X-A": "1"}

    @app.post("/explicit-headers")  # type: ignore[type-var]
    @apidocs.doc(status=201)
    @apidocs.validate
    def explicit_headers() -> tuple[Item, int, dict[str, str]]:
        return Item(id=1, name="a"), 202, {"X-A": "1"}

    client = app.test_client()
    assert client.post("/bare").status_code == 201
    assert client.post("/explicit").status_code == 200
    response = client.post("/headers")
    assert (response.status_code, response.headers["X-A"]) == (201, "1")
    response = client.post("/explicit-headers")
    assert (response.status_code, response.headers["X-A"]) == (202, "1")
    assert client.post("/bare").get_json() == {"id": 1, "name": "a"}


def test_declared_status_on_a_method_view(apidocs: APIDocs) -> None:
    class Items(MethodView):
        @apidocs.doc(status=201)
        @apidocs.validate
        def post(self) -> Item:
            return SecretItem(id=1, name="a")

        @apidocs.validate
        def get(self) -> Item:
            return SecretItem(id=2, name="b")

    app = make_app(apidocs)
    app.add_url_rule("/items", view_func=Items.as_view("items"))
    client = app.test_client()
    response = client.post("/items")
    assert (response.status_code, response.get_json()) == (201, {"id": 1, "name": "a"})
    response = client.get("/items")
    assert (response.status_code, response.get_json()) == (200, {"id": 2, "name": "b"})


def test_what_passes_through_untouched(apidocs: APIDocs) -> None:
    app = make_app(apidocs)

    @app.get("/response")
    @apidocs.validate
    def response() -> Response:
        return Response("<x/>", 203, mimetype="application/xml", headers={"X-A": "1"})

    @app.get("/response-for-model")  # type: ignore[type-var]
    @apidocs.validate
    def response_for_model() -> Item:
        return t.cast(Item, Response("raw", 202, mimetype="text/plain"))

    @app.get("/str")
    @apidocs.validate
    def text() -> str:
        return "<p>hello</p>"

    @app.get("/str-status")
    @apidocs.validate
    def text_status() -> tuple[str, int]:
        return "made", 201

    @app.get("/unannotated")
    @apidocs.validate
    def unannotated():  # type: ignore[no-untyped-def]
        return {"id": 1, "secret": HIDDEN}

    @app.get("/any")  # type: ignore[type-var]
    @apidocs.validate
    def anything() -> None:
        return t.cast(None, ({"secret": HIDDEN}, 202))

    client = app.test_client()
    answer = client.get("/response")
    assert (answer.status_code, answer.mimetype, answer.data) == (203, "application/xml", b"<x/>")
    assert answer.headers["X-A"] == "1"
    answer = client.get("/response-for-model")
    assert (answer.status_code, answer.mimetype, answer.data) == (202, "text/plain", b"raw")
    answer = client.get("/str")
    assert (answer.status_code, answer.mimetype) == (200, "text/html")
    assert answer.data == b"<p>hello</p>"
    answer = client.get("/str-status")
    assert (answer.status_code, answer.mimetype, answer.data) == (201, "text/html", b"made")
    answer = client.get("/unannotated")
    assert answer.get_json() == {"id": 1, "secret": HIDDEN}  # Flask's own JSON, whole
    answer = client.get("/any")
    assert (answer.status_code, answer.get_json()) == (202, {"secret": HIDDEN})


def response_app(apidocs: APIDocs, **config: t.Any) -> Flask:
    app = make_app(apidocs, **config)

    @app.get("/right")  # type: ignore[type-var]
    @apidocs.validate
    def right() -> Item:
        return Item(id=1, name="a")

    @app.get("/subclass")
    @apidocs.validate
    def subclass() -> list[Item]:
        return [SecretItem(id=1, name="a")]

    @app.get("/missing")  # type: ignore[type-var]
    @apidocs.validate
    def missing() -> Item:
        return t.cast(Item, {"id": 1})

    @app.get("/wrong-type")
    @apidocs.validate
    def wrong_type() -> Note:
        return t.cast(Note, {"id": "one", "name": "a"})

    @app.get("/wrong-dataclass")  # type: ignore[type-var]
    @apidocs.validate
    def wrong_dataclass() -> Pair:
        return Pair(t.cast(int, "one"), "a")

    @app.get("/mutated-model")  # type: ignore[type-var]
    @apidocs.validate
    def mutated_model() -> Item:
        item = Item(id=1, name="a")
        item.id = t.cast(int, "one")
        return item

    @app.get("/not-a-list")
    @apidocs.validate
    def not_a_list() -> list[Item]:
        return t.cast(list[Item], Item(id=1, name="a"))

    @app.get("/number")  # type: ignore[type-var]
    @apidocs.validate
    def number() -> tuple[Item, int]:
        return t.cast(Item, 5), 201

    @app.get("/wrong-async")  # type: ignore[type-var]
    @apidocs.validate
    async def wrong_async() -> Item:
        return t.cast(Item, {"name": "a"})

    @app.get("/right-async")  # type: ignore[type-var]
    @apidocs.validate
    async def right_async() -> tuple[Item, int]:
        return SecretItem(id=3, name="c"), 201

    return app


WRONG = ["/missing", "/wrong-type", "/not-a-list", "/number", "/wrong-async"]
# An instance of the declared class whose field holds a value of the wrong type: pydantic
# does not look inside an instance of the class it validates (revalidate_instances="never"),
# so without care the value would be written as it is, with pydantic's UserWarning.
WRONG_INSIDE = ["/wrong-dataclass", "/mutated-model"]


@pytest.mark.parametrize(
    "settings",
    [{"APIDOCS_VALIDATE_RESPONSES": True}, {"option": True}],
    ids=["config", "option"],
)
@pytest.mark.parametrize("path", WRONG)
def test_validated_responses_refuse_a_wrong_value(settings: dict[str, t.Any], path: str) -> None:
    if "option" in settings:
        app = response_app(APIDocs(validate_responses=True))
    else:
        app = response_app(APIDocs(), **settings)
    with pytest.raises(ResponseValidationError) as raised:
        app.test_client().get(path)
    assert "returned a value that is not its declared" in str(raised.value)


@pytest.mark.parametrize("validate_responses", [True, False])
@pytest.mark.parametrize("path", WRONG_INSIDE)
def test_a_wrong_field_inside_an_instance_raises(validate_responses: bool, path: str) -> None:
    app = response_app(APIDocs(validate_responses=validate_responses))
    with pytest.raises(ResponseValidationError):
        app.test_client().get(path)


@pytest.mark.parametrize("validate_responses", [True, False])
def test_right_values_pass(validate_responses: bool) -> None:
    app = response_app(APIDocs(validate_responses=validate_responses))
    client = app.test_client()
    assert client.get("/right").get_json() == {"id": 1, "name": "a"}
    assert client.get("/subclass").get_json() == [{"id": 1, "name": "a"}]
    response = client.get("/right-async")
    assert (response.status_code, response.get_json()) == (201, {"id": 3, "name": "c"})


@pytest.mark.parametrize("path", WRONG)
def test_without_the_option_what_cannot_be_converted_raises(path: str) -> None:
    app = response_app(APIDocs())
    with pytest.raises(ResponseValidationError):
        app.test_client().get(path)


def test_validated_responses_convert_in_lax_mode() -> None:
    apidocs = APIDocs(validate_responses=True)
    app = make_app(apidocs)

    @app.get("/lax")  # type: ignore[type-var]
    @apidocs.validate
    def lax() -> Item:
        return t.cast(Item, {"id": "7", "name": "a", "secret": HIDDEN})

    assert app.test_client().get("/lax").get_json() == {"id": 7, "name": "a"}


def test_async_views(apidocs: APIDocs) -> None:
    app = make_app(apidocs)

    @app.get("/model")
    @apidocs.validate
    async def model() -> list[Item]:
        return [SecretItem(id=1, name="a")]

    @app.get("/dict")
    @apidocs.doc(status=201)
    @apidocs.validate
    async def from_dict() -> tuple[Note, dict[str, str]]:
        return t.cast(Note, {"id": 1, "name": "a", "secret": HIDDEN}), {"X-A": "1"}

    @app.get("/str")
    @apidocs.validate
    async def text() -> str:
        return "plain"

    client = app.test_client()
    assert client.get("/model").get_json() == [{"id": 1, "name": "a"}]
    response = client.get("/dict")
    assert (response.status_code, response.get_json()) == (201, {"id": 1, "name": "a"})
    assert response.headers["X-A"] == "1"
    assert client.get("/str").data == b"plain"
