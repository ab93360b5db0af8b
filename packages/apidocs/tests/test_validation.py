"""The request side of ``@apidocs.validate``: each location and type family reaches the
view parsed, and invalid input never does — it answers a problem (422, 400 or 415)."""

from __future__ import annotations

import dataclasses
import enum
import functools
import io
import json
import sys
import types
import typing as t
import uuid

import pytest
import typing_extensions
from flask import Flask
from flask.views import MethodView
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field
from werkzeug.datastructures import FileStorage

from flask_plug.apidocs import APIDocs, File, RequestValidationError

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

PROBLEM = "application/problem+json"
SECRET = "hunter2-do-not-echo"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    city: t.Annotated[str, Field(min_length=1)]
    zip: t.Annotated[str, Field(pattern=r"^[0-9]{5}$")] | None = None


class NewItem(BaseModel):
    name: t.Annotated[str, Field(min_length=1, max_length=10)]
    price: t.Annotated[float, Field(gt=0)]
    count: int = 1
    color: Color = Color.RED
    kind: t.Literal["a", "b"] = "a"
    tags: t.Annotated[list[str], Field(max_length=3)] = []
    address: Address | None = None
    code: int | str = 0


@dataclasses.dataclass
class Order:
    name: str
    qty: t.Annotated[int, Field(ge=1)]
    address: Address | None = None


class Note(typing_extensions.TypedDict):
    title: str
    stars: t.Annotated[int, Field(ge=0, le=5)]


class Paging(BaseModel):
    page: t.Annotated[int, Field(ge=1)] = 1
    tags: list[str] = []
    color: Color | None = None
    order: t.Literal["asc", "desc"] = "asc"
    ids: list[int] = []


class Headers(BaseModel):
    x_token: str
    x_count: int = 0
    x_tag: list[str] = []


class Cookies(BaseModel):
    session: t.Annotated[str, Field(min_length=3)]
    theme: t.Literal["dark", "light"] = "light"


class Form(BaseModel):
    title: t.Annotated[str, Field(min_length=1)]
    n: int
    tags: list[str] = []


class Upload(BaseModel):
    title: str
    file: File
    extra: list[File] = []


class Login(BaseModel):
    user: str
    password: t.Annotated[str, Field(max_length=5)]


class Calls(list[tuple[str, dict[str, t.Any]]]):
    """What reached the views: (view name, its arguments)."""

    def record(self, name: str, **arguments: t.Any) -> dict[str, t.Any]:
        self.append((name, arguments))
        return {"ok": True}


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def apidocs() -> APIDocs:
    return APIDocs()


@pytest.fixture
def app(apidocs: APIDocs, calls: Calls) -> Flask:
    app = Flask(__name__)
    app.testing = True
    apidocs.init_app(app)

    @app.post("/items")
    @apidocs.validate
    def new_item(body: NewItem) -> dict[str, t.Any]:
        return calls.record("new_item", body=body)

    @app.post("/orders")
    @apidocs.validate
    def new_order(body: Order) -> dict[str, t.Any]:
        return calls.record("new_order", body=body)

    @app.post("/notes")
    @apidocs.validate
    def new_note(body: Note) -> dict[str, t.Any]:
        return calls.record("new_note", body=body)

    @app.post("/batch")
    @apidocs.validate
    def batch(body: list[NewItem]) -> dict[str, t.Any]:
        return calls.record("batch", body=body)

    @app.post("/optional")
    @apidocs.validate
    def optional(body: NewItem | None = None) -> dict[str, t.Any]:
        return calls.record("optional", body=body)

    @app.get("/search")
    @apidocs.validate
    def search(query: Paging) -> dict[str, t.Any]:
        return calls.record("search", query=query)

    @app.get("/items/<int:item_id>")
    @apidocs.validate
    def get_item(item_id: t.Annotated[int, Field(ge=1, le=100)]) -> dict[str, t.Any]:
        return calls.record("get_item", item_id=item_id)

    @app.get("/plain/<number>/<slug>/<color>/<ident>")
    @apidocs.validate
    def plain(
        number: t.Annotated[int, Field(gt=0)],
        slug: t.Annotated[str, Field(pattern=r"^[a-z]+$", max_length=8)],
        color: Color,
        ident: uuid.UUID,
    ) -> dict[str, t.Any]:
        return calls.record("plain", number=number, slug=slug, color=color, ident=ident)

    @app.get("/me")
    @apidocs.validate
    def me(headers: Headers) -> dict[str, t.Any]:
        return calls.record("me", headers=headers)

    @app.get("/prefs")
    @apidocs.validate
    def prefs(cookies: Cookies) -> dict[str, t.Any]:
        return calls.record("prefs", cookies=cookies)

    @app.post("/form")
    @apidocs.validate
    def form_view(form: Form) -> dict[str, t.Any]:
        return calls.record("form", form=form)

    @app.post("/upload")
    @apidocs.validate
    def upload(form: Upload) -> dict[str, t.Any]:
        return calls.record(
            "upload",
            form=form,
            contents=[form.file.read(), *(extra.read() for extra in form.extra)],
        )

    @app.post("/login")
    @apidocs.validate
    def login(body: Login) -> dict[str, t.Any]:
        return calls.record("login", body=body)

    @app.post("/shops/<int:shop_id>/items")
    @apidocs.validate
    def everything(
        shop_id: t.Annotated[int, Field(ge=1)],
        body: NewItem,
        query: Paging,
        headers: Headers,
        cookies: Cookies,
    ) -> dict[str, t.Any]:
        return calls.record(
            "everything", shop_id=shop_id, body=body, query=query, headers=headers,
            cookies=cookies,
        )  # fmt: skip

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def only_call(calls: Calls, name: str) -> dict[str, t.Any]:
    assert [called for called, _ in calls] == [name]
    return calls[0][1]


def problem(response: t.Any, status: int) -> list[dict[str, t.Any]]:
    """The errors of a problem response, after checking its form."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    data = response.get_json(force=True)
    assert data["status"] == status
    assert data["type"] == "about:blank"
    assert isinstance(data["title"], str) and isinstance(data["detail"], str)
    for error in data["errors"]:
        assert set(error) == {"location", "field", "message", "type"}
    errors: list[dict[str, t.Any]] = data["errors"]
    return errors


def located(errors: list[dict[str, t.Any]]) -> set[tuple[str, tuple[t.Any, ...], str]]:
    return {(e["location"], tuple(e["field"]), e["type"]) for e in errors}


# --- JSON bodies -----------------------------------------------------------------------


def test_pydantic_body_reaches_the_view_parsed(client: FlaskClient, calls: Calls) -> None:
    sent = {
        "name": "lamp", "price": 9.5, "count": 3, "color": "blue", "kind": "b",
        "tags": ["x", "y"], "address": {"city": "Lyon", "zip": "69001"}, "code": "A1",
    }  # fmt: skip
    assert client.post("/items", json=sent).status_code == 200
    body = only_call(calls, "new_item")["body"]
    assert type(body) is NewItem
    assert body.color is Color.BLUE
    assert type(body.address) is Address and body.address.zip == "69001"
    assert body.tags == ["x", "y"] and body.code == "A1" and body.kind == "b"
    assert body.model_dump(mode="json") == sent


def test_pydantic_body_defaults(client: FlaskClient, calls: Calls) -> None:
    assert client.post("/items", json={"name": "a", "price": 1}).status_code == 200
    body = only_call(calls, "new_item")["body"]
    assert (body.count, body.color, body.kind, body.tags, body.address, body.code) == (
        1, Color.RED, "a", [], None, 0,
    )  # fmt: skip
    assert type(body.price) is float


def test_union_keeps_the_sent_type(client: FlaskClient, calls: Calls) -> None:
    assert client.post("/items", json={"name": "a", "price": 1, "code": 7}).status_code == 200
    assert only_call(calls, "new_item")["body"].code == 7


def test_dataclass_body(client: FlaskClient, calls: Calls) -> None:
    sent = {"name": "tea", "qty": 2, "address": {"city": "Oslo"}}
    assert client.post("/orders", json=sent).status_code == 200
    body = only_call(calls, "new_order")["body"]
    assert type(body) is Order
    assert body == Order("tea", 2, Address(city="Oslo"))


def test_typeddict_body(client: FlaskClient, calls: Calls) -> None:
    assert client.post("/notes", json={"title": "t", "stars": 5}).status_code == 200
    assert only_call(calls, "new_note")["body"] == {"title": "t", "stars": 5}


def test_list_body(client: FlaskClient, calls: Calls) -> None:
    sent = [{"name": "a", "price": 1}, {"name": "b", "price": 2, "color": "blue"}]
    assert client.post("/batch", json=sent).status_code == 200
    body = only_call(calls, "batch")["body"]
    assert [type(item) for item in body] == [NewItem, NewItem]
    assert body[1].color is Color.BLUE


def test_optional_body_may_be_left_out(client: FlaskClient, calls: Calls) -> None:
    assert client.post("/optional").status_code == 200
    assert client.post("/optional", json={"name": "a", "price": 1}).status_code == 200
    assert [arguments["body"] for _, arguments in calls][0] is None
    assert type(calls[1][1]["body"]) is NewItem


DEFAULT_ITEM = NewItem(name="default", price=2, count=7)


def test_an_optional_body_left_out_gets_its_default(apidocs: APIDocs, calls: Calls) -> None:
    app = Flask(__name__)
    apidocs.init_app(app)

    @app.post("/defaulted")
    @apidocs.validate
    def defaulted(body: NewItem = DEFAULT_ITEM) -> dict[str, t.Any]:
        return calls.record("defaulted", body=body)

    client = app.test_client()
    assert client.post("/defaulted").status_code == 200
    assert only_call(calls, "defaulted")["body"] == DEFAULT_ITEM
    calls.clear()
    assert client.post("/defaulted", json={"name": "sent", "price": 1}).status_code == 200
    assert only_call(calls, "defaulted")["body"] == NewItem(name="sent", price=1)


@pytest.mark.parametrize(
    ("path", "sent", "expected"),
    [
        ("/items", {"price": 1}, {("body", ("name",), "missing")}),
        ("/items", {"name": "", "price": 1}, {("body", ("name",), "string_too_short")}),
        ("/items", {"name": "x" * 11, "price": 1}, {("body", ("name",), "string_too_long")}),
        ("/items", {"name": "a", "price": 0}, {("body", ("price",), "greater_than")}),
        ("/items", {"name": "a", "price": 1, "color": "green"}, {("body", ("color",), "enum")}),
        ("/items", {"name": "a", "price": 1, "kind": "c"}, {("body", ("kind",), "literal_error")}),
        ("/items", {"name": "a", "price": 1, "tags": ["1", "2", "3", "4"]},
         {("body", ("tags",), "too_long")}),
        ("/items", {"name": "a", "price": 1, "tags": "a"}, {("body", ("tags",), "list_type")}),
        ("/items", {"name": "a", "price": 1, "address": {"city": ""}},
         {("body", ("address", "city"), "string_too_short")}),
        ("/items", {"name": "a", "price": 1, "address": {"city": "x", "zip": "1"}},
         {("body", ("address", "zip"), "string_pattern_mismatch")}),
        ("/items", {"name": 5, "price": "x"},
         {("body", ("name",), "string_type"), ("body", ("price",), "float_type")}),
        ("/items", [], {("body", (), "model_type")}),
        ("/orders", {"name": "a", "qty": 0}, {("body", ("qty",), "greater_than_equal")}),
        ("/orders", {"name": "a"}, {("body", ("qty",), "missing")}),
        ("/notes", {"title": "t", "stars": 6}, {("body", ("stars",), "less_than_equal")}),
        ("/notes", {"title": "t"}, {("body", ("stars",), "missing")}),
        ("/batch", [{"name": "a", "price": 1}, {"name": "b"}],
         {("body", (1, "price"), "missing")}),
        ("/batch", {"name": "a", "price": 1}, {("body", (), "list_type")}),
    ],
)  # fmt: skip
def test_invalid_body_never_reaches_the_view(
    client: FlaskClient, calls: Calls, path: str, sent: t.Any, expected: set[t.Any]
) -> None:
    errors = problem(client.post(path, json=sent), 422)
    assert located(errors) == expected
    assert calls == []


@pytest.mark.parametrize(
    ("sent", "field", "kind"),
    [
        ({"name": "a", "price": 1, "count": "5"}, "count", "int_type"),
        ({"name": "a", "price": "1.5"}, "price", "float_type"),
        ({"name": "a", "price": 1, "color": "BLUE"}, "color", "enum"),
        ({"name": "a", "price": 1, "count": True}, "count", "int_type"),
        ({"name": "a", "price": 1, "count": 5.5}, "count", "int_type"),
        ({"name": 1, "price": 1}, "name", "string_type"),
    ],
)
def test_json_body_is_strict(
    client: FlaskClient, calls: Calls, sent: dict[str, t.Any], field: str, kind: str
) -> None:
    assert located(problem(client.post("/items", json=sent), 422)) == {("body", (field,), kind)}
    assert calls == []


def test_query_string_is_lax(client: FlaskClient, calls: Calls) -> None:
    assert client.get("/search?page=5").status_code == 200
    assert only_call(calls, "search")["query"].page == 5


@pytest.mark.parametrize(
    "data",
    [
        b"{",
        b'{"name": "a", "price": 1,}',
        b"",
        b"\xff\xfe{}",
        b'{"name": "caf\xe9", "price": 1}',
        b'{"name": "\\ud800", "price": 1}',
        b"nul\x00l",
    ],
)
def test_unparseable_json_is_400(client: FlaskClient, calls: Calls, data: bytes) -> None:
    errors = problem(client.post("/items", data=data, content_type="application/json"), 400)
    assert located(errors) == {("body", (), "json_invalid")}
    assert calls == []


class Measure(BaseModel):
    value: float


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(apidocs: APIDocs, literal: str) -> None:
    app = Flask(__name__)
    apidocs.init_app(app)
    received = []

    @app.post("/measures")
    @apidocs.validate
    def measure(body: Measure) -> dict[str, t.Any]:
        received.append(body.value)
        return {}

    response = app.test_client().post(
        "/measures", data=f'{{"value": {literal}}}', content_type="application/json"
    )
    assert received == []
    assert response.status_code == 400


@pytest.mark.parametrize(
    "send",
    [
        {"data": '{"name": "a", "price": 1}', "content_type": "text/plain"},
        {"data": {"name": "a", "price": "1"}},
        {"data": {"name": "a", "file": (io.BytesIO(b"x"), "a.txt")}},
        {"data": '{"name": "a", "price": 1}'},
        {},
    ],
    ids=["text", "urlencoded", "multipart", "no-type", "nothing"],
)
def test_a_body_that_is_not_json_is_415(
    client: FlaskClient, calls: Calls, send: dict[str, t.Any]
) -> None:
    errors = problem(client.post("/items", **send), 415)
    assert located(errors) == {("body", (), "content_type")}
    assert calls == []


def test_json_with_a_charset_or_a_json_suffix_is_json(client: FlaskClient, calls: Calls) -> None:
    data = '{"name": "a", "price": 1}'
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        assert client.post("/items", data=data, content_type=content_type).status_code == 200
    assert len(calls) == 2


# --- query strings ---------------------------------------------------------------------


def test_query_defaults(client: FlaskClient, calls: Calls) -> None:
    assert client.get("/search").status_code == 200
    assert only_call(calls, "search")["query"] == Paging()


def test_query_repeated_keys_fill_lists(client: FlaskClient, calls: Calls) -> None:
    url = "/search?tags=a&tags=b&ids=1&ids=2&ids=3&color=blue&order=desc&page=2"
    assert client.get(url).status_code == 200
    query = only_call(calls, "search")["query"]
    assert type(query) is Paging
    assert query.tags == ["a", "b"] and query.ids == [1, 2, 3]
    assert query.color is Color.BLUE and query.order == "desc" and query.page == 2


def test_query_single_value_of_a_list(client: FlaskClient, calls: Calls) -> None:
    assert client.get("/search?tags=only").status_code == 200
    assert only_call(calls, "search")["query"].tags == ["only"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/search?page=x", {("query", ("page",), "int_parsing")}),
        ("/search?page=0", {("query", ("page",), "greater_than_equal")}),
        ("/search?ids=1&ids=x", {("query", ("ids", 1), "int_parsing")}),
        ("/search?color=green", {("query", ("color",), "enum")}),
        ("/search?order=up", {("query", ("order",), "literal_error")}),
        ("/search?page=0&order=up",
         {("query", ("page",), "greater_than_equal"), ("query", ("order",), "literal_error")}),
    ],
)  # fmt: skip
def test_invalid_query(client: FlaskClient, calls: Calls, url: str, expected: set[t.Any]) -> None:
    assert located(problem(client.get(url), 422)) == expected
    assert calls == []


# --- path variables --------------------------------------------------------------------


def test_path_variable_after_its_converter(client: FlaskClient, calls: Calls) -> None:
    assert client.get("/items/100").status_code == 200
    assert only_call(calls, "get_item") == {"item_id": 100}
    assert client.get("/items/-1").status_code == 404  # the converter's own refusal
    for refused in ("0", "101"):
        assert client.get(f"/items/{refused}").status_code == 422
    assert len(calls) == 1


def test_path_variables_without_converter(client: FlaskClient, calls: Calls) -> None:
    ident = uuid.uuid4()
    assert client.get(f"/plain/7/abc/blue/{ident}").status_code == 200
    assert only_call(calls, "plain") == {
        "number": 7, "slug": "abc", "color": Color.BLUE, "ident": ident,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/plain/0/abc/red/" + str(uuid.UUID(int=1)), {("path", ("number",), "greater_than")}),
        ("/plain/x/abc/red/" + str(uuid.UUID(int=1)), {("path", ("number",), "int_parsing")}),
        ("/plain/1/ABC/red/" + str(uuid.UUID(int=1)),
         {("path", ("slug",), "string_pattern_mismatch")}),
        ("/plain/1/abcdefghi/red/" + str(uuid.UUID(int=1)),
         {("path", ("slug",), "string_too_long")}),
        ("/plain/1/abc/pink/" + str(uuid.UUID(int=1)), {("path", ("color",), "enum")}),
        ("/plain/1/abc/red/nope", {("path", ("ident",), "uuid_parsing")}),
        ("/plain/0/ABC/pink/nope",
         {("path", ("number",), "greater_than"), ("path", ("slug",), "string_pattern_mismatch"),
          ("path", ("color",), "enum"), ("path", ("ident",), "uuid_parsing")}),
    ],
)  # fmt: skip
def test_invalid_path_variables(
    client: FlaskClient, calls: Calls, url: str, expected: set[t.Any]
) -> None:
    assert located(problem(client.get(url), 422)) == expected
    assert calls == []


# --- headers and cookies ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["X-Token", "x-token", "X-TOKEN", "x-ToKeN"])
def test_headers_case_insensitively(client: FlaskClient, calls: Calls, name: str) -> None:
    sent = [(name, "tk"), ("x-count", "4"), ("x-TAG", "a")]
    assert client.get("/me", headers=sent).status_code == 200
    headers = only_call(calls, "me")["headers"]
    assert headers == Headers(x_token="tk", x_count=4, x_tag=["a"])


@pytest.mark.parametrize(
    "sent", [[("X-Tag", "a"), ("X-Tag", "b")], [("X-Tag", "a,b")], [("X-Tag", "a, b")]]
)
def test_list_headers_split_on_commas(
    client: FlaskClient, calls: Calls, sent: list[tuple[str, str]]
) -> None:
    assert client.get("/me", headers=[("X-Token", "t"), *sent]).status_code == 200
    assert only_call(calls, "me")["headers"].x_tag == ["a", "b"]


def test_invalid_headers(client: FlaskClient, calls: Calls) -> None:
    errors = problem(client.get("/me", headers={"X-Count": "many"}), 422)
    assert {(e["location"], e["field"][0].lower(), e["type"]) for e in errors} == {
        ("headers", "x-token", "missing"), ("headers", "x-count", "int_parsing"),
    }  # fmt: skip
    assert calls == []


def test_cookies(client: FlaskClient, calls: Calls) -> None:
    client.set_cookie("session", "abcdef")
    client.set_cookie("theme", "dark")
    assert client.get("/prefs").status_code == 200
    assert only_call(calls, "prefs")["cookies"] == Cookies(session="abcdef", theme="dark")


def test_invalid_cookies(client: FlaskClient, calls: Calls) -> None:
    assert located(problem(client.get("/prefs"), 422)) == {("cookies", ("session",), "missing")}
    client.set_cookie("session", "ab")
    client.set_cookie("theme", "blue")
    assert located(problem(client.get("/prefs"), 422)) == {
        ("cookies", ("session",), "string_too_short"), ("cookies", ("theme",), "literal_error"),
    }  # fmt: skip
    assert calls == []


# --- forms -----------------------------------------------------------------------------


def test_urlencoded_form(client: FlaskClient, calls: Calls) -> None:
    data = "title=Hi&n=3&tags=a&tags=b"
    response = client.post("/form", data=data, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert only_call(calls, "form")["form"] == Form(title="Hi", n=3, tags=["a", "b"])


def test_multipart_form_without_files(client: FlaskClient, calls: Calls) -> None:
    response = client.post(
        "/form", data={"title": "Hi", "n": "3"}, content_type="multipart/form-data"
    )
    assert response.status_code == 200
    assert only_call(calls, "form")["form"] == Form(title="Hi", n=3)


DEFAULT_FORM = Form(title="default", n=7, tags=["d"])


@pytest.mark.parametrize("content_type", [None, "multipart/form-data"])
def test_an_optional_form_left_out_gets_its_default(
    apidocs: APIDocs, calls: Calls, content_type: str | None
) -> None:
    app = Flask(__name__)
    apidocs.init_app(app)

    @app.post("/defaulted")
    @apidocs.validate
    def defaulted(form: Form = DEFAULT_FORM) -> dict[str, t.Any]:
        return calls.record("defaulted", form=form)

    client = app.test_client()
    assert client.post("/defaulted").status_code == 200
    assert only_call(calls, "defaulted")["form"] == DEFAULT_FORM
    calls.clear()
    sent = client.post("/defaulted", data={"title": "Hi", "n": "3"}, content_type=content_type)
    assert sent.status_code == 200
    assert only_call(calls, "defaulted")["form"] == Form(title="Hi", n=3)


def test_invalid_form(client: FlaskClient, calls: Calls) -> None:
    errors = problem(client.post("/form", data={"title": "", "n": "x"}), 422)
    assert located(errors) == {
        ("form", ("title",), "string_too_short"), ("form", ("n",), "int_parsing"),
    }  # fmt: skip
    assert calls == []


@pytest.mark.parametrize(
    "send",
    [
        {"json": {"title": "Hi", "n": 3}},
        {"data": "title=Hi&n=3", "content_type": "text/plain"},
        {},
    ],
    ids=["json", "text", "nothing"],
)
def test_a_form_view_refuses_other_bodies(
    client: FlaskClient, calls: Calls, send: dict[str, t.Any]
) -> None:
    assert located(problem(client.post("/form", **send), 415)) == {("form", (), "content_type")}
    assert calls == []


def test_file_uploads(client: FlaskClient, calls: Calls) -> None:
    data = {
        "title": "pics",
        "file": (io.BytesIO(b"one"), "one.txt"),
        "extra": [(io.BytesIO(b"two"), "two.txt"), (io.BytesIO(b"three"), "three.txt")],
    }
    assert client.post("/upload", data=data).status_code == 200
    arguments = only_call(calls, "upload")
    form = arguments["form"]
    assert type(form.file) is FileStorage and form.file.filename == "one.txt"
    assert [extra.filename for extra in form.extra] == ["two.txt", "three.txt"]
    assert arguments["contents"] == [b"one", b"two", b"three"]


def test_file_list_defaults_to_empty(client: FlaskClient, calls: Calls) -> None:
    data = {"title": "pics", "file": (io.BytesIO(b"one"), "one.txt")}
    assert client.post("/upload", data=data).status_code == 200
    assert only_call(calls, "upload")["form"].extra == []


def test_a_file_field_needs_a_file(client: FlaskClient, calls: Calls) -> None:
    errors = problem(client.post("/upload", data={"title": "t"}), 422)
    assert located(errors) == {("form", ("file",), "missing")}
    errors = problem(client.post("/upload", data={"title": "t", "file": "not a file"}), 422)
    assert [(e["location"], e["field"]) for e in errors] == [("form", ["file"])]
    errors = problem(
        client.post(
            "/upload", data="title=t&file=x", content_type="application/x-www-form-urlencoded"
        ),
        422,
    )
    assert [(e["location"], e["field"]) for e in errors] == [("form", ["file"])]
    assert calls == []


# --- several locations, the problem's content ------------------------------------------


def test_every_location_reported_together(client: FlaskClient, calls: Calls) -> None:
    client.set_cookie("session", "x")
    response = client.post(
        "/shops/0/items?page=0", json={"name": "", "price": 1}, headers={"X-Count": "n"}
    )
    errors = problem(response, 422)
    assert {(e["location"], str(e["field"][0]).lower(), e["type"]) for e in errors} == {
        ("path", "shop_id", "greater_than_equal"),
        ("body", "name", "string_too_short"),
        ("query", "page", "greater_than_equal"),
        ("headers", "x-token", "missing"),
        ("headers", "x-count", "int_parsing"),
        ("cookies", "session", "string_too_short"),
    }
    assert "6 errors" in response.get_json(force=True)["detail"]
    assert calls == []


def test_every_location_valid(client: FlaskClient, calls: Calls) -> None:
    client.set_cookie("session", "abc")
    response = client.post(
        "/shops/2/items?page=3&tags=t", json={"name": "a", "price": 1}, headers={"X-Token": "k"}
    )
    assert response.status_code == 200
    arguments = only_call(calls, "everything")
    assert arguments["shop_id"] == 2
    assert arguments["body"].name == "a"
    assert (arguments["query"].page, arguments["query"].tags) == (3, ["t"])
    assert arguments["headers"].x_token == "k"
    assert arguments["cookies"].session == "abc"


def test_the_problem_never_echoes_the_input(client: FlaskClient, calls: Calls) -> None:
    responses = [
        client.post("/login", json={"user": "u", "password": SECRET}),
        client.post("/login", json={"user": SECRET, "password": [SECRET]}),
        client.post(
            "/login", data=f'{{"user": "u", "password": "{SECRET}', content_type="application/json"
        ),
        client.post("/login", data=f'{{"password": "{SECRET}"}}', content_type="text/plain"),
        client.get(f"/search?page={SECRET}&color={SECRET}&order={SECRET}"),
        client.get("/me", headers={"X-Count": SECRET}),
        client.get(f"/plain/{SECRET}/{SECRET}/{SECRET}/{SECRET}"),
        client.post("/form", data={"title": "t", "n": SECRET}),
    ]  # fmt: skip
    client.set_cookie("theme", SECRET)
    responses.append(client.get("/prefs"))
    for response in responses:
        assert response.status_code in (400, 415, 422)
        assert SECRET not in response.get_data(as_text=True)
        assert "hunter2" not in response.get_data(as_text=True)
    assert calls == []


def test_a_replaced_problem_format(app: Flask, client: FlaskClient, calls: Calls) -> None:
    @app.errorhandler(RequestValidationError)
    def invalid(error: RequestValidationError) -> tuple[dict[str, t.Any], int]:
        assert error.code is not None
        return {"message": error.description, "problems": error.errors}, error.code

    response = client.post("/items", json={"price": 1})
    assert response.status_code == 422
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert set(data) == {"message", "problems"}
    assert data["problems"] == [
        {"location": "body", "field": ["name"], "message": "Field required", "type": "missing"}
    ]
    response = client.post("/items", data="{", content_type="application/json")
    assert response.status_code == 400 and set(response.get_json()) == {"message", "problems"}
    response = client.post("/items", data="x", content_type="text/plain")
    assert response.status_code == 415 and set(response.get_json()) == {"message", "problems"}
    assert calls == []


# --- async views, MethodView, other decorators -----------------------------------------


@pytest.fixture
def async_app(apidocs: APIDocs, calls: Calls) -> Flask:
    app = Flask(__name__)
    app.testing = True
    apidocs.init_app(app)

    @app.post("/items/<int:item_id>")
    @apidocs.validate
    async def body(item_id: t.Annotated[int, Field(le=10)], body: NewItem) -> dict[str, t.Any]:
        return calls.record("body", item_id=item_id, body=body)

    @app.get("/search")
    @apidocs.validate
    async def query(query: Paging) -> dict[str, t.Any]:
        return calls.record("query", query=query)

    @app.get("/me")
    @apidocs.validate
    async def headers(headers: Headers) -> dict[str, t.Any]:
        return calls.record("headers", headers=headers)

    @app.get("/prefs")
    @apidocs.validate
    async def cookies(cookies: Cookies) -> dict[str, t.Any]:
        return calls.record("cookies", cookies=cookies)

    @app.post("/upload")
    @apidocs.validate
    async def form(form: Upload) -> dict[str, t.Any]:
        return calls.record("form", form=form, content=form.file.read())

    return app


def test_async_views(async_app: Flask, calls: Calls) -> None:
    client = async_app.test_client()
    client.set_cookie("session", "abc")
    assert client.post("/items/3", json={"name": "a", "price": 2}).status_code == 200
    assert client.get("/search?tags=a&tags=b").status_code == 200
    assert client.get("/me", headers={"x-token": "t"}).status_code == 200
    assert client.get("/prefs").status_code == 200
    data = {"title": "t", "file": (io.BytesIO(b"abc"), "a.txt")}
    assert client.post("/upload", data=data).status_code == 200
    received = dict(calls)
    assert received["body"]["item_id"] == 3 and type(received["body"]["body"]) is NewItem
    assert received["query"]["query"].tags == ["a", "b"]
    assert received["headers"]["headers"].x_token == "t"
    assert received["cookies"]["cookies"].session == "abc"
    assert received["form"]["content"] == b"abc"


def test_async_views_refuse_invalid_input(async_app: Flask, calls: Calls) -> None:
    client = async_app.test_client()
    assert located(problem(client.post("/items/11", json={"name": "a"}), 422)) == {
        ("path", ("item_id",), "less_than_equal"), ("body", ("price",), "missing"),
    }  # fmt: skip
    problem(client.post("/items/1", data="{", content_type="application/json"), 400)
    problem(client.post("/items/1", data="x", content_type="text/plain"), 415)
    assert located(problem(client.get("/search?page=x"), 422)) == {
        ("query", ("page",), "int_parsing")
    }
    assert [e["type"] for e in problem(client.get("/me"), 422)] == ["missing"]
    assert located(problem(client.get("/prefs"), 422)) == {("cookies", ("session",), "missing")}
    assert located(problem(client.post("/upload", data={"title": "t"}), 422)) == {
        ("form", ("file",), "missing")
    }
    problem(client.post("/upload", json={"title": "t"}), 415)
    assert calls == []


def test_method_view(apidocs: APIDocs, calls: Calls) -> None:
    class ItemAPI(MethodView):
        @apidocs.validate
        def get(self, item_id: t.Annotated[int, Field(ge=1)], query: Paging) -> dict[str, t.Any]:
            return calls.record("get", item_id=item_id, query=query)

        @apidocs.validate
        def put(self, item_id: int, body: NewItem) -> dict[str, t.Any]:
            return calls.record("put", item_id=item_id, body=body)

        @apidocs.validate
        async def delete(self, item_id: int, headers: Headers) -> dict[str, t.Any]:
            return calls.record("delete", item_id=item_id, headers=headers)

    app = Flask(__name__)
    app.testing = True
    apidocs.init_app(app)
    app.add_url_rule("/items/<int:item_id>", view_func=ItemAPI.as_view("item"))
    client = app.test_client()
    assert client.get("/items/0").status_code == 422
    assert client.put("/items/1", json={"name": ""}).status_code == 422
    assert client.delete("/items/1").status_code == 422
    assert calls == []
    assert client.get("/items/4?page=2").status_code == 200
    assert client.put("/items/5", json={"name": "n", "price": 1}).status_code == 200
    assert client.delete("/items/6", headers={"X-Token": "t"}).status_code == 200
    received = dict(calls)
    assert received["get"]["item_id"] == 4 and received["get"]["query"].page == 2
    assert type(received["put"]["body"]) is NewItem
    assert received["delete"]["headers"].x_token == "t"


def counting(counter: list[str]) -> t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]:
    """A decorator made with functools.wraps that notes each call."""

    def decorator(view: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
        @functools.wraps(view)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            counter.append(view.__name__)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def test_other_decorators_in_either_order(apidocs: APIDocs, calls: Calls) -> None:
    app = Flask(__name__)
    app.testing = True
    apidocs.init_app(app)
    outside: list[str] = []
    inside: list[str] = []

    @app.post("/outer/<int:n>")
    @counting(outside)
    @apidocs.validate
    def outer(n: t.Annotated[int, Field(le=5)], body: NewItem) -> dict[str, t.Any]:
        return calls.record("outer", n=n, body=body)

    @app.post("/inner/<int:n>")
    @apidocs.validate
    @counting(inside)
    def inner(n: t.Annotated[int, Field(le=5)], body: NewItem) -> dict[str, t.Any]:
        return calls.record("inner", n=n, body=body)

    client = app.test_client()
    for path in ("/outer", "/inner"):
        assert client.post(f"{path}/6", json={"name": "a", "price": 1}).status_code == 422
        assert client.post(f"{path}/1", json={"name": "a"}).status_code == 422
    assert calls == [] and inside == []
    assert outside == ["outer", "outer"]  # it runs first: before validation
    assert client.post("/outer/5", json={"name": "a", "price": 1}).status_code == 200
    assert client.post("/inner/5", json={"name": "b", "price": 1}).status_code == 200
    assert [(name, arguments["n"], type(arguments["body"])) for name, arguments in calls] == [
        ("outer", 5, NewItem), ("inner", 5, NewItem),
    ]  # fmt: skip
    assert inside == ["inner"]
    document = apidocs.document(app)
    for path in ("/outer/{n}", "/inner/{n}"):
        operation = document["paths"][path]["post"]
        assert "requestBody" in operation and "422" in operation["responses"]


FORWARD_SOURCE = """
from __future__ import annotations

from flask import Flask
from flask_plug.apidocs import APIDocs

app = Flask(__name__)
app.testing = True
apidocs = APIDocs(app)
received = []


@app.post("/later/<int:n>")
@apidocs.validate
def create(n: Positive, body: Later, query: LaterQuery) -> Later:
    received.append((n, body, query))
    return body


from typing import Annotated

from pydantic import BaseModel, Field

Positive = Annotated[int, Field(gt=0)]


class Later(BaseModel):
    name: Annotated[str, Field(min_length=1)]


class LaterQuery(BaseModel):
    page: int = 1
"""


def forward_module(monkeypatch: pytest.MonkeyPatch, name: str) -> types.ModuleType:
    """A module whose view names classes defined after it."""
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    exec(compile(FORWARD_SOURCE, f"{name}.py", "exec"), module.__dict__)
    return module


@pytest.mark.parametrize("first", ["valid", "invalid", "document"])
def test_forward_references_at_the_first_request(
    monkeypatch: pytest.MonkeyPatch, first: str
) -> None:
    module = forward_module(monkeypatch, f"forward_views_{first}")
    client = module.app.test_client()
    if first == "document":
        body = module.apidocs.document(module.app)["paths"]["/later/{n}"]["post"]["requestBody"]
        assert body["required"] is True
    if first != "valid":
        response = client.post("/later/0?page=x", json={"name": ""})
        assert located(problem(response, 422)) == {
            ("path", ("n",), "greater_than"), ("query", ("page",), "int_parsing"),
            ("body", ("name",), "string_too_short"),
        }  # fmt: skip
        assert module.received == []
    response = client.post("/later/2?page=3", json={"name": "x"})
    assert response.status_code == 200
    assert response.get_json() == {"name": "x"}
    [(n, body, query)] = module.received
    assert (n, type(body).__name__, body.name, query.page) == (2, "Later", "x", 3)


# --- hostile input ---------------------------------------------------------------------


def check(condition: bool, found: list[str], what: str) -> None:
    if not condition:
        found.append(what)


@pytest.fixture(scope="module")
def fuzzed() -> tuple[Flask, list[str], list[str]]:
    """An app of validated views that check, when they run, that what they got is valid;
    the lists hold the views that ran and any check that failed."""
    apidocs = APIDocs()
    app = Flask(__name__)
    app.testing = True
    apidocs.init_app(app)
    ran: list[str] = []
    wrong: list[str] = []

    def valid_item(item: t.Any) -> bool:
        return (
            type(item) is NewItem and 1 <= len(item.name) <= 10 and item.price > 0
            and isinstance(item.count, int) and isinstance(item.color, Color)
            and item.kind in ("a", "b") and len(item.tags) <= 3
            and all(type(tag) is str for tag in item.tags)
            and (item.address is None or (type(item.address) is Address and item.address.city > ""))
        )  # fmt: skip

    @app.route("/items/<int:item_id>", methods=["POST", "PUT"])
    @apidocs.validate
    def items(item_id: t.Annotated[int, Field(le=1000)], body: NewItem) -> dict[str, t.Any]:
        ran.append("items")
        check(0 <= item_id <= 1000 and valid_item(body), wrong, f"items {item_id} {body!r}")
        return {}

    @app.post("/batch")
    @apidocs.validate
    def batch(body: list[NewItem]) -> dict[str, t.Any]:
        ran.append("batch")
        check(all(valid_item(item) for item in body), wrong, f"batch {body!r}")
        return {}

    @app.route("/search/<slug>", methods=["GET", "DELETE"])
    @apidocs.validate
    async def search(
        slug: t.Annotated[str, Field(pattern=r"^[a-z]+$")], query: Paging, headers: Headers
    ) -> dict[str, t.Any]:
        ran.append("search")
        check(
            slug.isalpha() and slug.islower() and slug.isascii() and query.page >= 1
            and query.order in ("asc", "desc") and all(type(i) is int for i in query.ids)
            and type(headers.x_token) is str and type(headers.x_count) is int,
            wrong, f"search {slug!r} {query!r} {headers!r}",
        )  # fmt: skip
        return {}

    @app.post("/form")
    @apidocs.validate
    def form(form: Upload, cookies: Cookies) -> dict[str, t.Any]:
        ran.append("form")
        check(
            type(form.file) is FileStorage and all(type(f) is FileStorage for f in form.extra)
            and len(cookies.session) >= 3 and cookies.theme in ("dark", "light"),
            wrong, f"form {form!r} {cookies!r}",
        )  # fmt: skip
        return {}

    return app, ran, wrong


PATHS = ["/items/1", "/items/1001", "/items/x", "/batch", "/search/abc", "/search/A", "/form",
         "/search/", "/items/", "/nowhere"]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
ROUTES = [("POST", "/items/1"), ("PUT", "/items/1000"), ("POST", "/items/1001"),
          ("POST", "/batch"), ("GET", "/search/abc"), ("DELETE", "/search/A"),
          ("GET", "/search/abc"), ("POST", "/form")]  # fmt: skip
CONTENT_TYPES = [
    "application/json", "application/json; charset=latin-1", "text/plain",
    "application/x-www-form-urlencoded", "multipart/form-data",
    "multipart/form-data; boundary=b", "application/problem+json", "", "*/*", "json",
]  # fmt: skip
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
ITEMISH = st.fixed_dictionaries(
    {"name": st.text(max_size=12), "price": st.integers(-2, 2) | st.floats(allow_nan=False)},
    optional={
        "count": JSON, "color": st.sampled_from(["red", "blue", "RED"]) | JSON,
        "kind": st.sampled_from(["a", "b", "c"]), "tags": st.lists(JSON, max_size=5),
        "address": st.none() | st.fixed_dictionaries({"city": st.text(max_size=3)}) | JSON,
    },
)  # fmt: skip
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12)
QUERY = st.lists(
    st.tuples(
        st.sampled_from(["page", "tags", "ids", "color", "order", "x"]),
        st.sampled_from(["0", "1", "-1", "x", "", "blue", "asc", "1e3", "é"]) | st.text(max_size=5),
    ),
    max_size=5,
)


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["item", "items", "json", "bytes", "form"]))
    if kind == "item":
        return json.dumps(draw(ITEMISH)).encode()
    if kind == "items":
        return json.dumps(draw(st.lists(ITEMISH, max_size=3))).encode()
    if kind == "json":
        return json.dumps(draw(JSON)).encode()
    if kind == "form":
        return b"title=t&file=x&session=abcd"
    return draw(st.binary(max_size=64))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    route=st.sampled_from(ROUTES) | st.tuples(st.sampled_from(METHODS), st.sampled_from(PATHS)),
    query=QUERY,
    content_type=st.just("application/json") | st.sampled_from(CONTENT_TYPES),
    headers=st.lists(
        st.tuples(st.sampled_from(["X-Token", "x-count", "X-Tag", "Cookie", "X-Other"]),
                  HEADER_TEXT),
        max_size=4,
    ),
    body=bodies(),
)  # fmt: skip
def test_hostile_requests_never_500_nor_reach_the_view_invalid(
    fuzzed: tuple[Flask, list[str], list[str]],
    route: tuple[str, str],
    query: list[tuple[str, str]],
    content_type: str,
    headers: list[tuple[str, str]],
    body: bytes,
) -> None:
    app, ran, wrong = fuzzed
    method, path = route
    client = app.test_client()
    sent_headers = [*headers]
    if content_type:
        sent_headers.append(("Content-Type", content_type))
    response = client.open(path, method=method, query_string=query, headers=sent_headers, data=body)
    assert response.status_code < 500, response.get_data(as_text=True)
    event(f"{path} {response.status_code}")
    assert wrong == []
    if response.mimetype == PROBLEM and method != "HEAD":
        problem(response, response.status_code)
