"""Which rules become which paths and operations: every route, typed path parameters,
operation ids, docstrings, tags, exclusions and the cached document."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Blueprint, Flask
from flask.views import MethodView
from openapi_spec_validator import validate
from werkzeug.routing import BaseConverter, Rule

from flask_plug.apidocs import APIDocs

Document = dict[str, t.Any]


def fetch(app: Flask, url: str = "/docs/openapi.json") -> tuple[bytes, Document]:
    """The served document's bytes and data, checked to be valid OpenAPI 3.1."""
    with app.test_client().get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        data = response.get_data()
    document: Document = json.loads(data)
    validate(document)  # type: ignore[arg-type]
    return data, document


def operations(document: Document) -> dict[tuple[str, str], dict[str, t.Any]]:
    return {
        (path, method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def ok() -> str:
    return "ok"


class Things(MethodView):
    """Things, as a whole."""

    def get(self) -> str:
        """List the things.

        Newest first.
        """
        return "[]"

    def post(self) -> str:
        """Add a thing."""
        return "{}"

    def delete(self) -> str:
        return ""


@pytest.fixture
def apidocs() -> APIDocs:
    return APIDocs()


@pytest.fixture
def app(apidocs: APIDocs) -> Flask:
    app = Flask(__name__)
    apidocs.init_app(app)
    return app


def test_every_kind_of_rule_appears_with_its_methods(app: Flask) -> None:
    @app.route("/")
    def index() -> str:
        return "home"

    @app.route("/notes", methods=["GET", "POST"])
    def notes() -> str:
        return "[]"

    app.add_url_rule("/health", "health", ok)
    app.add_url_rule("/things", view_func=Things.as_view("things"))

    api = Blueprint("api", __name__, url_prefix="/api")
    v1 = Blueprint("v1", __name__)
    users = Blueprint("users", __name__)

    @api.get("/status")
    def status() -> str:
        return "up"

    @v1.put("/items/<int:item_id>")
    def put_item(item_id: int) -> str:
        return ""

    @users.delete("/<name>")
    def delete_user(name: str) -> str:
        return ""

    v1.register_blueprint(users, url_prefix="/users")
    api.register_blueprint(v1, url_prefix="/v1")
    app.register_blueprint(api)

    _, document = fetch(app)
    endpoints = {
        ("/", "get"): "index",
        ("/notes", "get"): "notes",
        ("/notes", "post"): "notes",
        ("/health", "get"): "health",
        ("/things", "get"): "things",
        ("/things", "post"): "things",
        ("/things", "delete"): "things",
        ("/api/status", "get"): "api.status",
        ("/api/v1/items/{item_id}", "put"): "api.v1.put_item",
        ("/api/v1/users/{name}", "delete"): "api.v1.users.delete_user",
    }
    found = operations(document)
    assert set(found) == set(endpoints)
    for key, endpoint in endpoints.items():
        operation_id = found[key]["operationId"]
        if endpoint in ("notes", "things"):  # several methods: one id per method
            assert operation_id == f"{endpoint}_{key[1]}"
        else:  # one method, one rule: the endpoint itself
            assert operation_id == endpoint


def test_a_blueprint_registered_twice_under_two_names_appears_twice(app: Flask) -> None:
    bp = Blueprint("shop", __name__)
    bp.add_url_rule("/cart", "cart", ok)
    app.register_blueprint(bp, url_prefix="/eu")
    app.register_blueprint(bp, url_prefix="/us", name="shop_us")

    _, document = fetch(app)
    assert document["paths"]["/eu/cart"]["get"]["operationId"] == "shop.cart"
    assert document["paths"]["/us/cart"]["get"]["operationId"] == "shop_us.cart"
    assert document["paths"]["/us/cart"]["get"]["tags"] == ["shop_us"]


def test_head_and_options_never_appear(app: Flask) -> None:
    app.add_url_rule("/explicit", "explicit", ok, methods=["GET", "HEAD", "OPTIONS"])
    app.add_url_rule("/preflight-only", "preflight", ok, methods=["OPTIONS"])
    app.add_url_rule("/head-only", "head_only", ok, methods=["HEAD"])

    class WithHead(MethodView):
        def get(self) -> str:
            return ""

        def head(self) -> str:
            return ""

        def options(self) -> str:
            return ""

    app.add_url_rule("/with-head", view_func=WithHead.as_view("with_head"))

    _, document = fetch(app)
    assert set(document["paths"]) == {"/explicit", "/with-head"}
    for item in document["paths"].values():
        assert set(item) == {"get"}
    assert document["paths"]["/with-head"]["get"]["operationId"] == "with_head"


@pytest.mark.parametrize(
    ("variable", "schema"),
    [
        ("<int:v>", {"type": "integer", "minimum": 0}),
        ("<int(signed=True):v>", {"type": "integer"}),
        ("<int(min=1, max=99):v>", {"type": "integer", "minimum": 1, "maximum": 99}),
        ("<int(signed=True, max=5):v>", {"type": "integer", "maximum": 5}),
        ("<int(max=7):v>", {"type": "integer", "minimum": 0, "maximum": 7}),
        # Werkzeug routes only digits, a dot and digits, so a float is a patterned string.
        (
            "<float:v>",
            {
                "type": "string",
                "pattern": "^[0-9]+\\.[0-9]+$",
                "description": "A decimal number written with a dot, such as 2.5.",
            },
        ),
        (
            "<float(signed=True):v>",
            {
                "type": "string",
                "pattern": "^-?[0-9]+\\.[0-9]+$",
                "description": "A decimal number written with a dot, such as 2.5.",
            },
        ),
        (
            "<float(min=0.5, max=2.5):v>",
            {
                "type": "string",
                "pattern": "^[0-9]+\\.[0-9]+$",
                "description": "A decimal number written with a dot, such as 2.5, from 0.5 to 2.5.",
            },
        ),
        ("<int(fixed_digits=4):v>", {"type": "string", "pattern": "^[0-9]{4}$"}),
        ("<uuid:v>", {"type": "string", "format": "uuid"}),
        ("<path:v>", {"type": "string"}),
        ("<any(beta, alpha, 'x-y'):v>", {"type": "string", "enum": ["alpha", "beta", "x-y"]}),
        ("<v>", {"type": "string", "pattern": "^[^/]+$", "minLength": 1}),
        ("<string:v>", {"type": "string", "pattern": "^[^/]+$", "minLength": 1}),
    ],
)
def test_converters_give_typed_path_parameters(
    app: Flask, variable: str, schema: dict[str, t.Any]
) -> None:
    app.add_url_rule(f"/x/{variable}/y", "typed", ok)

    _, document = fetch(app)
    (parameter,) = document["paths"]["/x/{v}/y"]["get"]["parameters"]
    description = parameter.pop("description", None)
    assert parameter == {"name": "v", "in": "path", "required": True, "schema": schema}
    if variable.startswith("<path:"):
        assert description and "/" in description
    else:
        assert description is None


@pytest.mark.parametrize(
    ("variable", "lengths"),
    [
        ("<string(length=2):v>", {"minLength": 2, "maxLength": 2}),
        ("<string(minlength=3, maxlength=5):v>", {"minLength": 3, "maxLength": 5}),
        ("<string(minlength=4):v>", {"minLength": 4}),
        ("<string(maxlength=8):v>", {"maxLength": 8}),
    ],
)
def test_string_length_arguments_bound_the_parameter(
    app: Flask, variable: str, lengths: dict[str, int]
) -> None:
    app.add_url_rule(f"/lang/{variable}", "lang", ok)

    _, document = fetch(app)
    (parameter,) = document["paths"]["/lang/{v}"]["get"]["parameters"]
    assert parameter["schema"]["type"] == "string"
    assert {k: parameter["schema"].get(k) for k in lengths} == lengths


def test_string_length_arguments_keep_a_valid_string_parameter(app: Flask) -> None:
    app.add_url_rule("/lang/<string(length=2):code>/<string(minlength=3):word>", "lang", ok)

    _, document = fetch(app)
    parameters = document["paths"]["/lang/{code}/{word}"]["get"]["parameters"]
    assert [p["name"] for p in parameters] == ["code", "word"]
    assert all(p["schema"]["type"] == "string" and p["required"] for p in parameters)


class HexConverter(BaseConverter):
    regex = "[0-9a-f]+"

    def to_python(self, value: str) -> int:
        return int(value, 16)

    def to_url(self, value: t.Any) -> str:
        return f"{value:x}"


def test_a_custom_converter_is_documented_as_a_plain_string() -> None:
    app = Flask(__name__)
    app.url_map.converters["hex"] = HexConverter
    APIDocs(app)
    app.add_url_rule("/colors/<hex:rgb>", "color", ok)

    _, document = fetch(app)
    (parameter,) = document["paths"]["/colors/{rgb}"]["get"]["parameters"]
    assert parameter == {"name": "rgb", "in": "path", "required": True,
                         "schema": {"type": "string"}}  # fmt: skip


def test_several_variables_keep_their_order_and_types(app: Flask) -> None:
    app.add_url_rule("/a/<int:year>/<any(x, y):axis>/b/<uuid:ident>/<path:rest>", "many", ok)

    _, document = fetch(app)
    path = "/a/{year}/{axis}/b/{ident}/{rest}"
    parameters = document["paths"][path]["get"]["parameters"]
    assert [(p["name"], p["schema"]["type"]) for p in parameters] == [
        ("year", "integer"), ("axis", "string"), ("ident", "string"), ("rest", "string"),
    ]  # fmt: skip


def build_catalog(reverse: bool = False) -> Flask:
    """The same app, its routes registered in the given or the reverse order."""
    app = Flask("catalog")
    APIDocs(app, title="Catalog", version="2.0")

    def registrations() -> list[t.Callable[[], None]]:
        shop = Blueprint("shop", __name__, url_prefix="/shop")
        shop.add_url_rule("/cart", "cart", ok, methods=["GET", "DELETE"])
        shop.add_url_rule("/cart/<int:line>", "line", ok, methods=["PATCH"])
        return [
            lambda: app.add_url_rule("/", "index", ok),
            lambda: app.add_url_rule("/items", "items", ok, methods=["GET", "POST"]),
            lambda: app.add_url_rule("/items/<uuid:item_id>", "item", ok),
            lambda: app.add_url_rule("/search/<path:query>", "search", ok),
            lambda: app.add_url_rule("/things", view_func=Things.as_view("things")),
            lambda: app.register_blueprint(shop),
        ]

    steps = registrations()
    for step in reversed(steps) if reverse else steps:
        step()
    return app


def test_the_same_app_built_twice_serves_byte_identical_documents() -> None:
    first, document = fetch(build_catalog())
    second, _ = fetch(build_catalog())
    assert first == second
    assert len(operations(document)) == 11


def test_registration_order_does_not_change_the_document() -> None:
    forward, _ = fetch(build_catalog())
    backward, _ = fetch(build_catalog(reverse=True))
    assert forward == backward


def test_operation_ids_are_unique_for_several_methods_and_several_rules(app: Flask) -> None:
    @app.route("/posts", methods=["GET", "POST"])
    @app.route("/articles", methods=["GET", "POST"])
    def posts() -> str:
        return "[]"

    @app.get("/users/", defaults={"page": 1})
    @app.get("/users/page/<int:page>")
    def users(page: int) -> str:
        return "[]"

    _, document = fetch(app)
    ids = [op["operationId"] for op in operations(document).values()]
    assert len(ids) == 6
    assert len(set(ids)) == 6
    posts_ids = {op["operationId"] for (path, _), op in operations(document).items()
                 if path in ("/posts", "/articles")}  # fmt: skip
    assert len(posts_ids) == 4 and all(i.startswith("posts") for i in posts_ids)
    users_ids = {document["paths"]["/users/"]["get"]["operationId"],
                 document["paths"]["/users/page/{page}"]["get"]["operationId"]}  # fmt: skip
    assert len(users_ids) == 2 and all(i.startswith("users") for i in users_ids)


def test_operation_ids_never_collide_with_another_endpoint_name(app: Flask) -> None:
    app.add_url_rule("/items", "items", ok, methods=["GET", "POST"])
    app.add_url_rule("/items/latest", "items_get", ok)
    app.add_url_rule("/pages/a", "pages", ok)
    app.add_url_rule("/pages/b", "pages", ok)
    app.add_url_rule("/pages/c", "pages_0", ok)

    _, document = fetch(app)  # validate() rejects duplicate operationIds
    ids = [op["operationId"] for op in operations(document).values()]
    assert len(ids) == len(set(ids)) == 6


def test_summary_and_description_come_from_docstrings(app: Flask) -> None:
    @app.get("/documented")
    def documented() -> str:
        """Fetch **the** thing.

        It comes with a list:

        - one
        - two
        """
        return ""

    @app.get("/one-line")
    def one_line() -> str:
        """Only a summary."""
        return ""

    @app.get("/bare")
    def bare() -> str:
        return ""

    app.add_url_rule("/things", view_func=Things.as_view("things"))

    _, document = fetch(app)
    operation = document["paths"]["/documented"]["get"]
    assert operation["summary"] == "Fetch **the** thing."
    assert operation["description"] == "It comes with a list:\n\n- one\n- two"
    assert document["paths"]["/one-line"]["get"]["summary"] == "Only a summary."
    assert "description" not in document["paths"]["/one-line"]["get"]
    assert "summary" not in document["paths"]["/bare"]["get"]
    assert "description" not in document["paths"]["/bare"]["get"]

    things = document["paths"]["/things"]
    assert things["get"]["summary"] == "List the things."
    assert things["get"]["description"] == "Newest first."
    assert things["post"]["summary"] == "Add a thing."
    assert "description" not in things["post"]
    # A method without a docstring falls back to the class's.
    assert things["delete"]["summary"] == "Things, as a whole."


def test_doc_decorator_overrides_the_docstring(app: Flask, apidocs: APIDocs) -> None:
    @app.get("/x")
    @apidocs.doc(summary="Better summary", description="Better *description*.")
    def x() -> str:
        """Docstring summary.

        Docstring body.
        """
        return ""

    class Widget(MethodView):
        @apidocs.doc(summary="Make a widget", deprecated=True)
        def post(self) -> str:
            """Docstring of post."""
            return ""

    app.add_url_rule("/widgets", view_func=Widget.as_view("widgets"))

    _, document = fetch(app)
    operation = document["paths"]["/x"]["get"]
    assert operation["summary"] == "Better summary"
    assert operation["description"] == "Better *description*."
    widget = document["paths"]["/widgets"]["post"]
    assert widget["summary"] == "Make a widget"
    assert widget["deprecated"] is True


def test_tags_come_from_blueprint_names(app: Flask, apidocs: APIDocs) -> None:
    app.add_url_rule("/top", "top", ok)
    api = Blueprint("api", __name__, url_prefix="/api")
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    api.add_url_rule("/ping", "ping", ok)
    admin.add_url_rule("/stats", "stats", ok)

    @admin.get("/special")
    @apidocs.doc(tags=["Special", "Reports"])
    def special() -> str:
        return ""

    api.register_blueprint(admin)
    app.register_blueprint(api)

    _, document = fetch(app)
    paths = document["paths"]
    assert "tags" not in paths["/top"]["get"]
    assert paths["/api/ping"]["get"]["tags"] == ["api"]
    assert paths["/api/admin/stats"]["get"]["tags"] == ["api.admin"]
    assert paths["/api/admin/special"]["get"]["tags"] == ["Special", "Reports"]
    assert document["tags"] == [
        {"name": "Reports"}, {"name": "Special"}, {"name": "api"}, {"name": "api.admin"},
    ]  # fmt: skip


def test_static_routes_and_the_docs_pages_are_left_out() -> None:
    app = Flask(__name__, static_folder="static")
    APIDocs(app)
    assets = Blueprint("assets", __name__, static_folder="static", url_prefix="/assets")
    assets.add_url_rule("/list", "list", ok)
    app.register_blueprint(assets)
    rules = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {"static", "assets.static", "apidocs.document", "apidocs.swagger_ui"} <= rules

    _, document = fetch(app)
    assert list(document["paths"]) == ["/assets/list"]


def test_a_view_named_like_the_docs_blueprint_is_still_documented(app: Flask) -> None:
    @app.get("/about-the-api")
    def apidocs() -> str:
        return "see /docs"

    _, document = fetch(app)
    assert document["paths"]["/about-the-api"]["get"]["operationId"] == "apidocs"


def test_exclude_decorator_leaves_views_out(app: Flask, apidocs: APIDocs) -> None:
    @app.get("/hidden")
    @apidocs.exclude
    def hidden() -> str:
        return ""

    app.add_url_rule("/shown", "shown", ok)

    class Partly(MethodView):
        def get(self) -> str:
            return ""

        @apidocs.exclude
        def delete(self) -> str:
            return ""

    app.add_url_rule("/partly", view_func=Partly.as_view("partly"))

    _, document = fetch(app)
    assert set(operations(document)) == {("/shown", "get"), ("/partly", "get")}


@pytest.mark.parametrize(
    ("exclude", "left"),
    [
        ([], {"/health", "/healthz", "/api/a", "/api/admin/b", "/apiary"}),
        (["health"], {"/healthz", "/api/a", "/api/admin/b", "/apiary"}),
        (["api"], {"/health", "/healthz", "/apiary"}),
        (["api.admin"], {"/health", "/healthz", "/api/a", "/apiary"}),
        (["api.a", "healthz"], {"/health", "/api/admin/b", "/apiary"}),
    ],
)
@pytest.mark.parametrize("how", ["config", "keyword"])
def test_apidocs_exclude_leaves_out_endpoints_and_blueprints(
    exclude: list[str], left: set[str], how: str
) -> None:
    app = Flask(__name__)
    if how == "config":
        app.config["APIDOCS_EXCLUDE"] = exclude
        APIDocs(app)
    else:
        APIDocs(app, exclude=exclude)
    app.add_url_rule("/health", "health", ok)
    app.add_url_rule("/healthz", "healthz", ok)
    app.add_url_rule("/apiary", "apiary", ok)
    api = Blueprint("api", __name__, url_prefix="/api")
    admin = Blueprint("admin", __name__, url_prefix="/admin")
    api.add_url_rule("/a", "a", ok)
    admin.add_url_rule("/b", "b", ok)
    api.register_blueprint(admin)
    app.register_blueprint(api)

    _, document = fetch(app)
    assert set(document["paths"]) == left


def test_a_route_without_annotations_gets_a_plain_200(app: Flask) -> None:
    def plain():  # type: ignore[no-untyped-def]
        return "ok"

    app.add_url_rule("/plain", "plain", plain)

    _, document = fetch(app)
    assert document["paths"]["/plain"] == {
        "get": {"operationId": "plain", "responses": {"200": {"description": "OK"}}}
    }


def test_an_app_with_no_routes_of_its_own_has_an_empty_valid_document(app: Flask) -> None:
    _, document = fetch(app)
    assert document["paths"] == {}
    assert "components" not in document


def test_unchanged_app_serves_identical_bytes_every_time(app: Flask) -> None:
    app.add_url_rule("/a", "a", ok)
    first, _ = fetch(app)
    second, _ = fetch(app)
    with app.test_client().get("/docs/openapi.json") as response:
        third = response.get_data()
    assert first == second == third


def test_a_route_added_after_the_first_request_appears_on_the_next(app: Flask) -> None:
    app.add_url_rule("/early", "early", ok)
    before, document = fetch(app)
    assert set(document["paths"]) == {"/early"}

    # After a request, Flask refuses @app.route: the URL map is still open.
    def late(number: int) -> str:
        """Added late."""
        return str(number)

    app.url_map.add(Rule("/late/<int:number>", endpoint="late", methods=["GET", "PUT"]))
    app.view_functions["late"] = late

    after, document = fetch(app)
    assert after != before
    assert set(document["paths"]) == {"/early", "/late/{number}"}
    assert document["paths"]["/late/{number}"]["put"]["summary"] == "Added late."
    again, _ = fetch(app)
    assert again == after


def test_a_route_registered_after_the_document_was_built_appears(app: Flask) -> None:
    app.add_url_rule("/early", "early", ok)
    # Build (and cache) the document without a request, as the CLI does.
    result = app.test_cli_runner().invoke(args=["apidocs", "export"])
    assert result.exit_code == 0
    assert "/late" not in json.loads(result.output)["paths"]

    @app.post("/late")
    def late() -> str:
        return ""

    _, document = fetch(app)
    assert set(document["paths"]) == {"/early", "/late"}


def test_a_redirect_rule_does_not_break_the_document(app: Flask) -> None:
    app.add_url_rule("/new", "new", ok)
    app.url_map.add(Rule("/old", redirect_to="/new"))

    _, document = fetch(app)
    assert "/new" in document["paths"]


def test_literal_braces_in_a_rule_keep_the_document_valid(app: Flask) -> None:
    app.add_url_rule("/files/{id}", "braces", ok)
    app.add_url_rule("/other", "other", ok)

    _, document = fetch(app)  # validate() rejects the unresolved {id}
    assert "/other" in document["paths"]
