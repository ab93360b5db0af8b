"""flask-plug-apidocs: its per-request cost (none expected: it adds no request hooks), and
how long the document of a large app takes to build.

``run()`` gives the per-request table like every suite; ``build_times()`` gives the
build-time table, which is in milliseconds per document rather than µs per request.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import gc
import json
import statistics
import typing as t
import uuid
from time import perf_counter_ns

from flask import Blueprint, Flask
from flask.views import MethodView
from harness import Result, Variant, measure
from werkzeug.test import EnvironBuilder

from flask_plug.apidocs import APIDocs

PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}
ROUTES = 500
BLUEPRINTS = 10
REPEATS = 15


def trivial_route() -> list[Variant]:
    bare = Flask("bare")
    bare.get("/")(lambda: PAYLOAD)

    ours = Flask("ours")
    APIDocs(ours)
    ours.get("/")(lambda: PAYLOAD)

    return [
        Variant("bare Flask", bare),
        Variant("flask-plug-apidocs", ours),
    ]


def run() -> list[tuple[str, list[Result]]]:
    return [("apidocs: trivial JSON route (docs registered, not requested)",
             measure(trivial_route()))]  # fmt: skip


# -- a large app ---------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@dataclasses.dataclass
class Owner:
    """Who owns a thing."""

    id: uuid.UUID
    name: str
    since: datetime.date


@dataclasses.dataclass
class Thing:
    """A thing, with an owner."""

    id: int
    name: str
    colour: Colour
    owner: Owner | None
    tags: list[str]
    sizes: dict[str, float]
    created: datetime.datetime


@dataclasses.dataclass
class NewThing:
    name: str
    colour: Colour = Colour.RED
    tags: list[str] = dataclasses.field(default_factory=list)


class ThingQuery(t.TypedDict, total=False):
    limit: int
    colour: Colour
    q: str


class Error(t.TypedDict):
    error: str
    status: int


def _models(n: int) -> list[type]:
    """``n`` distinct dataclasses (each its own component), nesting :class:`Thing`."""
    models = []
    for i in range(n):
        fields = [("id", int), ("label", str), ("thing", Thing), ("extras", list[Owner])]
        models.append(dataclasses.make_dataclass(f"Model{i}", fields))
    return models


def _view(name: str, returns: t.Any) -> t.Callable[..., t.Any]:
    def view(**kwargs: t.Any) -> t.Any:
        return PAYLOAD

    view.__name__ = name
    view.__doc__ = f"Operation {name}.\n\nA longer description of {name}, in Markdown."
    view.__annotations__ = {"return": returns}
    return view


def big_app(routes: int = ROUTES, blueprints: int = BLUEPRINTS) -> tuple[Flask, APIDocs]:
    """An app with ``routes`` routes over ``blueprints`` blueprints: every converter, GET,
    POST, PUT and DELETE, dataclass and TypedDict bodies, query models, MethodViews."""
    app = Flask("big")
    apidocs = APIDocs(app, title="Big API")
    models = _models(20)
    per_blueprint = routes // blueprints
    for b in range(blueprints):
        bp = Blueprint(f"part{b}", __name__, url_prefix=f"/part{b}")
        for r in range(per_blueprint):
            i = b * per_blueprint + r
            model = models[i // 6 % len(models)]
            kind = i % 6
            if kind == 0:
                bp.get(f"/things{i}/<int:thing_id>")(_view(f"get{i}", Thing))
            elif kind == 1:
                view = _view(f"by_ref{i}", model)
                bp.route(f"/things{i}/<uuid:ref>", methods=["GET", "DELETE"])(view)
            elif kind == 2:
                described = apidocs.doc(body=NewThing, response=Thing, status=201,
                                        responses={409: "Exists", 422: Error})  # fmt: skip
                bp.post(f"/things{i}")(described(_view(f"add{i}", None)))
            elif kind == 3:
                bp.get(f"/things{i}/files/<path:name>")(_view(f"file{i}", str))
            elif kind == 4:
                view = apidocs.doc(query=ThingQuery)(_view(f"search{i}", list[Thing]))
                bp.get(f"/things{i}/<float:x>/<name>")(view)
            else:

                class Things(MethodView):
                    @apidocs.doc(body=list[model], responses={404: Error})  # type: ignore[valid-type]
                    def put(self, kind: str) -> dict[str, int]:
                        """Replace all things of a kind."""
                        return {}

                    def delete(self, kind: str) -> None:
                        """Remove all things of a kind."""

                rule = f"/things{i}/<any(small, large, huge):kind>"
                bp.add_url_rule(rule, view_func=Things.as_view(f"things{i}"))
        app.register_blueprint(bp)
    return app, apidocs


# -- timing --------------------------------------------------------------------------------


def _start_response(status: str, headers: list[tuple[str, str]], exc_info: t.Any = None) -> t.Any:
    return lambda data: None


def _get(app: Flask, path: str) -> bytes:
    environ = EnvironBuilder(path=path, base_url="http://127.0.0.1/").get_environ()
    body = app(environ, _start_response)
    try:
        return b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


def _ms(samples_ns: list[int]) -> str:
    millis = [s / 1e6 for s in samples_ns]
    q1, _, q3 = statistics.quantiles(millis, n=4)
    return f"{statistics.median(millis):.1f} ± {(q3 - q1) / 2:.1f}"


@dataclasses.dataclass(frozen=True)
class BuildTimes:
    routes: int
    operations: int
    components: int
    size_kb: float
    build: list[int]
    first_get: list[int]
    cached_get: list[int]


def measure_build(routes: int = ROUTES, repeats: int = REPEATS) -> BuildTimes:
    """Time ``APIDocs.document`` (the build alone), the first GET of openapi.json (build,
    serialise, respond) on a fresh app, and a later GET (served from the cache)."""
    build, first_get, cached_get = [], [], []
    document: dict[str, t.Any] = {}
    text = b""
    for _ in range(repeats):
        app, apidocs = big_app(routes)
        gc.collect()
        start = perf_counter_ns()
        document = apidocs.document(app)
        build.append(perf_counter_ns() - start)

        gc.collect()
        start = perf_counter_ns()
        text = _get(app, "/docs/openapi.json")
        first_get.append(perf_counter_ns() - start)

        start = perf_counter_ns()
        _get(app, "/docs/openapi.json")
        cached_get.append(perf_counter_ns() - start)
    assert json.loads(text) == document, "the served document is not the built one"
    operations = sum(len(item) for item in document["paths"].values())
    return BuildTimes(
        routes=routes,
        operations=operations,
        components=len(document.get("components", {}).get("schemas", {})),
        size_kb=len(text) / 1024,
        build=build,
        first_get=first_get,
        cached_get=cached_get,
    )


def build_times(routes: int = ROUTES, repeats: int = REPEATS) -> str:
    """The build-time table, in Markdown, for ``benchmarks/run.py``."""
    times = measure_build(routes, repeats)
    return "\n".join([
        f"**apidocs: OpenAPI document of an app with {times.routes} routes**"
        f" ({times.operations} operations, {times.components} schemas,"
        f" {times.size_kb:.0f} KiB of JSON; median of {repeats} fresh apps,"
        " ± half the interquartile range)",
        "",
        "| step | ms |",
        "| --- | ---: |",
        f"| build the document (`APIDocs.document`) | {_ms(times.build)} |",
        f"| first GET of openapi.json (build, serialise, send) | {_ms(times.first_get)} |",
        f"| later GET of openapi.json (cached) | {_ms(times.cached_get)} |",
    ])  # fmt: skip


if __name__ == "__main__":
    from harness import table

    for title, results in run():
        print(table(title, results, baseline="bare Flask"), end="\n\n")
    print(build_times())
