"""Random Flask apps, built by Hypothesis: whatever the routes, the document is valid
OpenAPI 3.1, documents every rule and method, and each template's variables are exactly
its path parameters."""

from __future__ import annotations

import dataclasses
import json
import re
import typing as t

import typing_extensions as te
from flask import Blueprint, Flask
from flask.views import MethodView
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from flask_plug.apidocs import APIDocs

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TEMPLATE_VARIABLE = re.compile(r"\{([^{}]+)\}")


@dataclasses.dataclass
class Tag:
    name: str
    color: str | None = None


@dataclasses.dataclass
class Item:
    """An item, with tags."""

    id: int
    tags: list[Tag]
    parent: Item | None = None


# typing_extensions': pydantic cannot read typing's TypedDict before Python 3.12.
class NewItem(te.TypedDict, total=False):
    title: te.Required[str]
    tags: list[str]


BODIES: list[t.Any] = [Tag, Item, NewItem, list[Item], dict[str, Tag]]
RETURNS: list[t.Any] = [None, str, Item, list[Tag], dict[str, int], int | None]
MARKDOWN = [
    "Fetch the **thing**.\n\nWith `code`, a [link](https://example.com) and a list:\n\n"
    "- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    "Ünïcödé summary — 日本語 ✓ 🎉\n\n> quoted\n\n```python\nprint('hi')\n```",
    "   \n\n   leading blank lines\n   and indentation",
    "<script>alert(1)</script> & \"quotes\" 'single' \\ backslash",
    "",
]


@dataclasses.dataclass
class Variable:
    name: str
    converter: str  # as written between < and :, "" for the default
    json_type: str


@dataclasses.dataclass
class Segment:
    before: str
    variable: Variable | None
    after: str

    def rule(self) -> str:
        if self.variable is None:
            return self.before
        variable = self.variable
        inner = f"{variable.converter}:{variable.name}" if variable.converter else variable.name
        return f"{self.before}<{inner}>{self.after}"

    def template(self) -> str:
        if self.variable is None:
            return self.before
        return f"{self.before}{{{self.variable.name}}}{self.after}"


@dataclasses.dataclass
class Route:
    segments: list[Segment]
    trailing_slash: bool
    methods: set[str]
    place: str  # "app", "alpha", "alpha.beta" or "gamma"
    method_view: bool
    docstrings: dict[str, str | None]
    body: t.Any
    response: t.Any
    status: int | None
    returns: t.Any
    second_rule: bool

    def rule(self, index: int, head: str) -> str:
        parts = [f"{head}{index}", *(segment.rule() for segment in self.segments)]
        return "/" + "/".join(parts) + ("/" if self.trailing_slash else "")

    def template(self, index: int, head: str) -> str:
        parts = [f"{head}{index}", *(segment.template() for segment in self.segments)]
        return "/" + "/".join(parts) + ("/" if self.trailing_slash else "")


PREFIXES = {"app": "", "alpha": "/alpha", "alpha.beta": "/alpha/beta", "gamma": ""}

identifiers = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,7}", fullmatch=True)
statics = st.from_regex(r"[a-zA-Z0-9_~-][a-zA-Z0-9._~-]{0,7}", fullmatch=True)
affixes = st.from_regex(r"[a-z.~-]{0,3}", fullmatch=True)
any_items = st.lists(
    st.from_regex(r"[a-z][a-z0-9]{0,5}", fullmatch=True), min_size=1, max_size=4, unique=True
)
small = st.integers(min_value=0, max_value=1000)


@st.composite
def converters(draw: st.DrawFn) -> tuple[str, str]:
    """A converter as written in a rule, and the JSON type of its parameter."""
    kind = draw(st.sampled_from(["int", "float", "uuid", "path", "any", "string", "default"]))
    if kind == "int":
        low, high = sorted(draw(st.tuples(small, small)))
        return draw(st.sampled_from(
            ["int", "int(signed=True)", f"int(min={low})", f"int(max={high})",
             f"int(min={low}, max={high})", f"int(signed=True, max={high})"]
        )), "integer"  # fmt: skip
    if kind == "float":
        return draw(st.sampled_from(["float", "float(signed=True)"])), "string"
    if kind == "any":
        return f"any({', '.join(draw(any_items))})", "string"
    if kind == "string":
        low, high = sorted(draw(st.tuples(small, small)))
        return draw(st.sampled_from(
            ["string", f"string(length={low + 1})", f"string(minlength={low + 1})",
             f"string(minlength={low + 1}, maxlength={high + 1})"]
        )), "string"  # fmt: skip
    return ("" if kind == "default" else kind), "string"


@st.composite
def segment_lists(draw: st.DrawFn) -> list[Segment]:
    count = draw(st.integers(min_value=0, max_value=4))
    names = draw(st.lists(identifiers, min_size=count, max_size=count, unique=True))
    segments = []
    for name in names:
        if draw(st.booleans()):
            segments.append(Segment(draw(statics), None, ""))
        converter, json_type = draw(converters())
        variable = Variable(name, converter, json_type)
        if draw(st.integers(0, 3)) == 0:  # sometimes inside a segment: /file-<id>.json
            segments.append(Segment(draw(affixes), variable, draw(affixes)))
        else:
            segments.append(Segment("", variable, ""))
    return segments


docstrings = st.one_of(st.none(), st.sampled_from(MARKDOWN), st.text(max_size=80))


@st.composite
def routes(draw: st.DrawFn) -> Route:
    methods = draw(st.sets(st.sampled_from(METHODS), min_size=1, max_size=len(METHODS)))
    method_view = draw(st.booleans())
    keys = sorted(methods) if method_view else ["view"]
    return Route(
        segments=draw(segment_lists()),
        trailing_slash=draw(st.booleans()),
        methods=methods,
        place=draw(st.sampled_from(sorted(PREFIXES))),
        method_view=method_view,
        docstrings={key: draw(docstrings) for key in [*keys, "class"]},
        body=draw(st.one_of(st.none(), st.sampled_from(BODIES))),
        response=draw(st.one_of(st.none(), st.sampled_from(BODIES))),
        status=draw(st.sampled_from([None, 200, 201, 202, 204])),
        returns=draw(st.sampled_from(RETURNS)),
        second_rule=draw(st.integers(0, 4)) == 0,
    )


def make_view(route: Route, index: int, apidocs: APIDocs) -> t.Callable[..., t.Any]:
    doc: dict[str, t.Any] = {}
    if route.body is not None:
        doc["body"] = route.body
    if route.response is not None:
        doc["response"] = route.response
    if route.status is not None:
        doc["status"] = route.status

    def handler(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return ""

    if not route.method_view:
        handler.__doc__ = route.docstrings["view"]
        handler.__annotations__ = {"return": route.returns}
        return apidocs.doc(**doc)(handler) if doc else handler

    namespace: dict[str, t.Any] = {"__doc__": route.docstrings["class"]}
    for method in route.methods:

        def method_handler(self: MethodView, **kwargs: t.Any) -> t.Any:
            return ""

        method_handler.__doc__ = route.docstrings[method]
        method_handler.__annotations__ = {"return": route.returns}
        namespace[method.lower()] = apidocs.doc(**doc)(method_handler) if doc else method_handler
    view_class = type(f"View{index}", (MethodView,), namespace)
    return view_class.as_view(f"e{index}")


def build(app_routes: list[Route]) -> tuple[Flask, set[tuple[str, str]]]:
    """The app, and the (template, method) pairs its document must hold."""
    app = Flask(__name__)
    apidocs = APIDocs(app)
    blueprints = {
        "alpha": Blueprint("alpha", __name__, url_prefix="/alpha"),
        "alpha.beta": Blueprint("beta", __name__, url_prefix="/beta"),
        "gamma": Blueprint("gamma", __name__),
    }
    expected: set[tuple[str, str]] = set()
    for index, route in enumerate(app_routes):
        target: Flask | Blueprint = app if route.place == "app" else blueprints[route.place]
        view = make_view(route, index, apidocs)
        heads = ["r", "s"] if route.second_rule else ["r"]
        for head in heads:
            target.add_url_rule(route.rule(index, head), f"e{index}", view,
                                methods=sorted(route.methods))  # fmt: skip
            template = PREFIXES[route.place] + route.template(index, head)
            expected.update((template, method.lower()) for method in route.methods)
    blueprints["alpha"].register_blueprint(blueprints["alpha.beta"])
    app.register_blueprint(blueprints["alpha"])
    app.register_blueprint(blueprints["gamma"])
    return app, expected


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(app_routes=st.lists(routes(), min_size=1, max_size=8))
def test_any_app_gives_a_valid_document_with_every_route(app_routes: list[Route]) -> None:
    app, expected = build(app_routes)
    with app.test_client().get("/docs/openapi.json") as response:
        assert response.status_code == 200
        document = json.loads(response.get_data().decode("utf-8"))

    validate(document)

    found = {(path, method) for path, item in document["paths"].items() for method in item}
    assert found == expected

    variables: dict[str, str] = {}
    for route in app_routes:
        for segment in route.segments:
            if segment.variable is not None:
                variables[segment.variable.name] = segment.variable.json_type
    operation_ids = []
    for path, item in document["paths"].items():
        names = TEMPLATE_VARIABLE.findall(path)
        assert len(names) == len(set(names)), path
        for operation in item.values():
            operation_ids.append(operation["operationId"])
            in_path = [p for p in operation.get("parameters", ()) if p["in"] == "path"]
            assert [p["name"] for p in in_path] == names, path
            for parameter in in_path:
                assert parameter["required"] is True
                # Names repeat across routes; each route's own types are checked by name
                # only when the name is used once in the whole app.
                types = {
                    s.variable.json_type
                    for r in app_routes
                    for s in r.segments
                    if s.variable is not None and s.variable.name == parameter["name"]
                }
                if len(types) == 1:
                    assert parameter["schema"]["type"] == variables[parameter["name"]]
            assert operation["responses"]
            assert all(200 <= int(status) < 600 for status in operation["responses"])
    assert len(operation_ids) == len(set(operation_ids))
