"""What other Flask-Plug extensions leave on views (``__flask_plug__``) shows in the
document: login and roles as security requirements, rate limits as 429 responses.

The auth metadata is written here exactly as flask-plug-auth writes it, with small
stand-ins for its decorators: the packages do not import each other. Which limits a route
has is flask-plug-ratelimit's own rule (``limits_for``): those tests run it, and one
stand-in checks what apidocs asks of it."""

from __future__ import annotations

import dataclasses
import functools
import json
import typing as t

import pytest
from flask import Blueprint, Flask
from flask.views import MethodView
from openapi_spec_validator import validate

from flask_plug.apidocs import APIDocs

Document = dict[str, t.Any]
F = t.TypeVar("F", bound=t.Callable[..., t.Any])

RATELIMIT_HEADERS = {"RateLimit-Policy", "RateLimit", "Retry-After"}
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


# -- flask-plug-auth, as its _guard() writes the metadata ----------------------------------


def _guard(view: F, roles: tuple[str, ...], scopes: tuple[str, ...] = ()) -> F:
    @functools.wraps(view)
    def guarded(*args: t.Any, **kwargs: t.Any) -> t.Any:
        return view(*args, **kwargs)

    metadata = dict(getattr(view, "__flask_plug__", {}))
    auth = dict(metadata.get("auth", {}))
    auth["login_required"] = True
    auth["roles"] = sorted({*auth.get("roles", ()), *roles})
    auth["scopes"] = sorted({*auth.get("scopes", ()), *scopes})
    metadata["auth"] = auth
    guarded.__flask_plug__ = metadata  # type: ignore[attr-defined]
    return t.cast(F, guarded)


def login_required(view: F) -> F:
    return _guard(view, ())


def roles_required(*roles: str) -> t.Callable[[F], F]:
    return lambda view: _guard(view, roles)


def scopes_required(*scopes: str) -> t.Callable[[F], F]:
    return lambda view: _guard(view, (), scopes)


# -- flask-plug-ratelimit ------------------------------------------------------------------


@pytest.fixture
def ratelimit() -> t.Any:
    """flask-plug-ratelimit itself: which limits a route has is its rule, which apidocs asks
    for, so these tests run the two packages together. Where apidocs is tested on its own
    (``hatch run dist:check``), they are skipped."""
    return pytest.importorskip("flask_plug.ratelimit")


@pytest.fixture
def limiter(app: Flask, ratelimit: t.Any) -> t.Any:
    return ratelimit.RateLimiter(app)


class LimiterStandIn:
    """All that apidocs asks of ``app.extensions["flask-plug-ratelimit"]``: ``limits_for``."""

    def __init__(self, limits: dict[tuple[str, str], tuple[str, ...]]) -> None:
        self.limits = limits
        self.asked: list[tuple[str, str]] = []

    def limits_for(self, endpoint: str, method: str) -> tuple[str, ...]:
        self.asked.append((endpoint, method))
        return self.limits.get((endpoint, method), ())


# -- Helpers -------------------------------------------------------------------------------


def fetch(app: Flask) -> Document:
    with app.test_client().get("/docs/openapi.json") as response:
        assert response.status_code == 200
        document: Document = json.loads(response.get_data())
    validate(document)  # type: ignore[arg-type]
    return document


def resolve(document: Document, schema: dict[str, t.Any]) -> dict[str, t.Any]:
    ref = schema["$ref"]
    prefix = "#/components/schemas/"
    assert ref.startswith(prefix)
    resolved: dict[str, t.Any] = document["components"]["schemas"][ref[len(prefix) :]]
    return resolved


def too_many(document: Document, path: str, method: str = "get") -> dict[str, t.Any] | None:
    response: dict[str, t.Any] | None = document["paths"][path][method]["responses"].get("429")
    return response


def fresh() -> t.Callable[[], str]:
    """A new view function: the decorators above set attributes on the view they get."""

    def view() -> str:
        return "ok"

    return view


@pytest.fixture
def apidocs() -> APIDocs:
    return APIDocs()


@pytest.fixture
def app(apidocs: APIDocs) -> Flask:
    app = Flask(__name__)
    apidocs.init_app(app)
    return app


# -- Auth ------------------------------------------------------------------------------------


def test_login_required_adds_security_schemes_and_a_401(app: Flask) -> None:
    @app.get("/me")
    @login_required
    def me() -> str:
        """Who I am.

        The logged-in user's profile.
        """
        return ""

    app.add_url_rule("/public", "public", fresh())

    document = fetch(app)
    operation = document["paths"]["/me"]["get"]
    assert operation["security"] == [{"session": []}, {"bearer": []}]
    assert operation["summary"] == "Who I am."
    assert operation["description"].startswith("The logged-in user's profile.\n\n")
    assert "logged-in user" in operation["description"].split("\n\n")[-1]
    assert set(operation["responses"]) == {"200", "401"}
    assert operation["responses"]["401"]["description"]

    schemes = document["components"]["securitySchemes"]
    assert set(schemes) == {"session", "bearer"}
    assert {k: schemes["session"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey", "in": "cookie", "name": "session",
    }  # fmt: skip
    assert {k: schemes["bearer"][k] for k in ("type", "scheme")} == {
        "type": "http", "scheme": "bearer",
    }  # fmt: skip

    public = document["paths"]["/public"]["get"]
    assert "security" not in public
    assert "401" not in public["responses"]
    assert "security" not in document  # no global requirement: public routes stay public


def test_roles_are_the_security_scopes_and_add_a_403(app: Flask) -> None:
    @app.delete("/users/<int:user_id>")
    @roles_required("admin")
    def delete_user(user_id: int) -> str:
        return ""

    @app.get("/reports")
    @roles_required("auditor", "admin")
    def reports() -> str:
        return ""

    document = fetch(app)
    delete = document["paths"]["/users/{user_id}"]["delete"]
    assert delete["security"] == [{"session": ["admin"]}, {"bearer": ["admin"]}]
    assert set(delete["responses"]) == {"200", "401", "403", "404"}
    assert "admin" in delete["description"]
    assert "summary" not in delete

    both = document["paths"]["/reports"]["get"]
    assert both["security"] == [{"session": ["admin", "auditor"]},
                                {"bearer": ["admin", "auditor"]}]  # fmt: skip
    assert "admin" in both["description"] and "auditor" in both["description"]


def test_stacked_guards_merge_their_roles(app: Flask) -> None:
    @app.get("/vault")
    @roles_required("treasurer")
    @roles_required("admin")
    def vault() -> str:
        return ""

    document = fetch(app)
    security = document["paths"]["/vault"]["get"]["security"]
    assert security == [{"session": ["admin", "treasurer"]}, {"bearer": ["admin", "treasurer"]}]


def test_token_scopes_are_required_of_the_bearer_scheme_and_add_a_403(app: Flask) -> None:
    @app.post("/notes")
    @scopes_required("notes:write")
    def add_note() -> str:
        """Add a note."""
        return ""

    @app.delete("/notes")
    @roles_required("admin")
    @scopes_required("notes:write", "notes:delete")
    def clear_notes() -> str:
        return ""

    document = fetch(app)
    assert document["openapi"].startswith("3.1.")  # non-OAuth schemes may list names
    add = document["paths"]["/notes"]["post"]
    # A login session is the user's own: scopes limit API tokens only.
    assert add["security"] == [{"session": []}, {"bearer": ["notes:write"]}]
    assert set(add["responses"]) == {"200", "401", "403"}
    assert "notes:write" in add["description"].split("\n\n")[-1]
    forbidden = add["responses"]["403"]
    assert "scope" in forbidden["description"]
    assert "WWW-Authenticate" in forbidden["headers"]
    body = forbidden["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"error", "scopes"}

    clear = document["paths"]["/notes"]["delete"]
    assert clear["security"] == [
        {"session": ["admin"]}, {"bearer": ["admin", "notes:delete", "notes:write"]},
    ]  # fmt: skip
    note = clear["description"]
    assert "admin" in note and "notes:delete, notes:write" in note
    assert "role" in clear["responses"]["403"]["description"]
    assert "scope" in clear["responses"]["403"]["description"]


def test_login_without_scopes_documents_no_scope_403(app: Flask) -> None:
    app.add_url_rule("/me", "me", login_required(fresh()))
    operation = fetch(app)["paths"]["/me"]["get"]
    assert "403" not in operation["responses"]
    assert operation["security"] == [{"session": []}, {"bearer": []}]


def test_the_cookie_scheme_is_named_after_session_cookie_name() -> None:
    app = Flask(__name__)
    app.config["SESSION_COOKIE_NAME"] = "sid"
    APIDocs(app)
    app.add_url_rule("/me", "me", login_required(fresh()))

    document = fetch(app)
    assert document["components"]["securitySchemes"]["session"]["name"] == "sid"


def test_no_security_schemes_without_protected_views(app: Flask) -> None:
    app.add_url_rule("/a", "a", fresh())
    document = fetch(app)
    assert "securitySchemes" not in document.get("components", {})


def test_a_declared_401_is_kept(app: Flask, apidocs: APIDocs) -> None:
    @app.get("/me")
    @login_required
    @apidocs.doc(responses={200: "You", 401: "Log in first, at /login"})
    def me() -> str:
        return ""

    document = fetch(app)
    responses = document["paths"]["/me"]["get"]["responses"]
    assert responses["401"] == {"description": "Log in first, at /login"}
    assert responses["200"] == {"description": "You"}


def test_doc_applied_outside_the_guard_keeps_the_auth_metadata(
    app: Flask, apidocs: APIDocs
) -> None:
    @app.get("/me")
    @apidocs.doc(summary="Me")
    @roles_required("admin")
    def me() -> str:
        return ""

    document = fetch(app)
    operation = document["paths"]["/me"]["get"]
    assert operation["summary"] == "Me"
    assert operation["security"] == [{"session": ["admin"]}, {"bearer": ["admin"]}]


def test_a_method_view_with_guard_decorators_is_secured_on_every_method(app: Flask) -> None:
    class Admin(MethodView):
        decorators = [roles_required("admin")]

        def get(self) -> str:
            """Show the settings."""
            return ""

        def put(self) -> str:
            return ""

    app.add_url_rule("/admin", view_func=Admin.as_view("admin"))

    document = fetch(app)
    for method in ("get", "put"):
        operation = document["paths"]["/admin"][method]
        assert operation["security"] == [{"session": ["admin"]}, {"bearer": ["admin"]}]
        assert "403" in operation["responses"]
    assert document["paths"]["/admin"]["get"]["summary"] == "Show the settings."


def test_blueprint_auth_metadata_applies_to_its_views(app: Flask) -> None:
    staff = Blueprint("staff", __name__, url_prefix="/staff")
    staff.__flask_plug__ = {  # type: ignore[attr-defined]
        "auth": {"login_required": True, "roles": ["staff"]}
    }
    staff.add_url_rule("/rota", "rota", fresh())
    app.register_blueprint(staff)
    app.add_url_rule("/open", "open", fresh())

    document = fetch(app)
    assert document["paths"]["/staff/rota"]["get"]["security"] == [
        {"session": ["staff"]}, {"bearer": ["staff"]},
    ]  # fmt: skip
    assert "security" not in document["paths"]["/open"]["get"]


# -- Rate limits -----------------------------------------------------------------------------


def check_429(document: Document, response: dict[str, t.Any] | None, *texts: str) -> None:
    assert response is not None
    assert set(response["headers"]) == RATELIMIT_HEADERS
    for header in response["headers"].values():
        assert header["schema"]["type"] in ("string", "integer")
    (media_type,) = response["content"]
    assert media_type == "application/problem+json"
    problem = resolve(document, response["content"][media_type]["schema"])
    assert problem["type"] == "object"
    assert set(problem["properties"]) == PROBLEM_FIELDS
    for text in texts:
        assert text in response["description"]


def test_a_limited_view_documents_429_with_headers_and_a_problem_body(
    app: Flask, limiter: t.Any
) -> None:
    @app.post("/login")
    @limiter.limit("5 per 1 minute; 50 per 1 day")
    def login() -> str:
        return ""

    app.add_url_rule("/free", "free", fresh())

    document = fetch(app)
    check_429(document, too_many(document, "/login", "post"), "5 per 1 minute", "50 per 1 day")
    assert too_many(document, "/free") is None
    assert list(document["paths"]["/login"]["post"]["responses"]) == ["200", "429"]


def test_method_restricted_limits_apply_to_those_methods_only(app: Flask, limiter: t.Any) -> None:
    @app.route("/comments", methods=["GET", "POST", "DELETE"])
    @limiter.limit("10 per 1 hour", methods=["post", "DELETE"])
    @limiter.limit("1000 per 1 hour")
    def comments() -> str:
        return ""

    document = fetch(app)
    get = too_many(document, "/comments", "get")
    post = too_many(document, "/comments", "post")
    check_429(document, get, "1000 per 1 hour")
    assert get is not None and "(1000 per 1 hour)" in get["description"]
    check_429(document, post, "10 per 1 hour", "1000 per 1 hour")
    check_429(document, too_many(document, "/comments", "delete"), "10 per 1 hour")


def test_a_limit_for_other_methods_only_documents_nothing(app: Flask, limiter: t.Any) -> None:
    @app.route("/form", methods=["GET", "POST"])
    @limiter.limit("3 per 1 minute", methods=["POST"])
    def form() -> str:
        return ""

    document = fetch(app)
    assert too_many(document, "/form", "get") is None
    check_429(document, too_many(document, "/form", "post"), "3 per 1 minute")


def test_blueprint_limits_apply_to_its_views_and_a_view_limit_replaces_them(
    app: Flask, limiter: t.Any
) -> None:
    api = limiter.limit("100 per 1 minute")(Blueprint("api", __name__, url_prefix="/api"))
    api.add_url_rule("/a", "a", fresh())
    api.add_url_rule("/b", "b", limiter.limit("7 per 1 second")(fresh()))
    api.add_url_rule("/c", "c", limiter.exempt(fresh()))
    app.register_blueprint(api)

    document = fetch(app)
    check_429(document, too_many(document, "/api/a"), "100 per 1 minute")
    b = too_many(document, "/api/b")
    check_429(document, b, "7 per 1 second")
    assert b is not None and "100 per 1 minute" not in b["description"]
    assert too_many(document, "/api/c") is None


def test_a_blueprint_limit_reaches_views_of_its_nested_blueprints(
    app: Flask, limiter: t.Any
) -> None:
    api = limiter.limit("100 per 1 minute")(Blueprint("api", __name__, url_prefix="/api"))
    v1 = Blueprint("v1", __name__, url_prefix="/v1")
    v1.add_url_rule("/x", "x", fresh())
    api.register_blueprint(v1)
    app.register_blueprint(api)

    document = fetch(app)
    check_429(document, too_many(document, "/api/v1/x"), "100 per 1 minute")


def test_the_innermost_blueprint_limits_win(app: Flask, limiter: t.Any) -> None:
    parent = limiter.limit("1 per 1 hour")(Blueprint("parent", __name__, url_prefix="/p"))
    child = limiter.limit("100 per 1 minute")(Blueprint("child", __name__, url_prefix="/c"))
    child.add_url_rule("/x", "x", fresh())
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    document = fetch(app)
    response = too_many(document, "/p/c/x")
    check_429(document, response, "100 per 1 minute")
    assert response is not None and "1 per 1 hour" not in response["description"]


def test_a_limited_inner_blueprint_under_an_exempt_outer_one_is_limited(
    app: Flask, limiter: t.Any
) -> None:
    parent = limiter.exempt(Blueprint("parent", __name__, url_prefix="/p"))
    child = limiter.limit("100 per 1 minute")(Blueprint("child", __name__, url_prefix="/c"))
    child.add_url_rule("/x", "x", fresh())
    parent.register_blueprint(child)
    app.register_blueprint(parent)

    document = fetch(app)
    check_429(document, too_many(document, "/p/c/x"), "100 per 1 minute")


def test_exempt_removes_the_429(app: Flask, limiter: t.Any) -> None:
    app.add_url_rule("/limited", "limited", limiter.limit("1 per 1 second")(fresh()))
    app.add_url_rule("/exempt", "exempt", limiter.exempt(limiter.limit("1 per 1 second")(fresh())))
    quiet = limiter.exempt(
        limiter.limit("1 per 1 second")(Blueprint("quiet", __name__, url_prefix="/q"))
    )
    quiet.add_url_rule("/x", "x", fresh())
    app.register_blueprint(quiet)

    document = fetch(app)
    assert too_many(document, "/limited") is not None
    assert too_many(document, "/exempt") is None
    assert too_many(document, "/q/x") is None


def build_limited_app(
    ratelimit: t.Any, *, extension: bool = True, default: str | None = "100 per 1 hour"
) -> Flask:
    app = Flask(__name__)
    limiter = ratelimit.RateLimiter()
    if extension:
        limiter.init_app(app, default=default)
    APIDocs(app)
    app.add_url_rule("/a", "a", fresh(), methods=["GET", "POST"])
    app.add_url_rule("/own", "own", limiter.limit("5 per 1 second")(fresh()))
    app.add_url_rule("/exempt", "exempt", limiter.exempt(fresh()))
    quiet = limiter.exempt(Blueprint("quiet", __name__, url_prefix="/quiet"))
    quiet.add_url_rule("/x", "x", fresh())
    app.register_blueprint(quiet)
    app.add_url_rule(
        "/form", "form", limiter.limit("3 per 1 minute", methods=["POST"])(fresh()),
        methods=["GET", "POST"],
    )  # fmt: skip

    class Things(MethodView):
        def get(self) -> str:
            return ""

        def delete(self) -> str:
            return ""

    app.add_url_rule("/things", view_func=Things.as_view("things"))
    return app


def test_with_a_default_limit_every_non_exempt_route_documents_429(ratelimit: t.Any) -> None:
    document = fetch(build_limited_app(ratelimit))
    limited = {("/a", "get"), ("/a", "post"), ("/own", "get"), ("/things", "get"),
               ("/things", "delete"), ("/form", "post")}  # fmt: skip
    for path, item in document["paths"].items():
        for method in item:
            response = too_many(document, path, method)
            if (path, method) in limited:
                check_429(document, response)
            else:
                assert response is None, (path, method)
    own = too_many(document, "/own")
    assert own is not None and "5 per 1 second" in own["description"]
    assert set(document["paths"]) == {"/a", "/own", "/exempt", "/quiet/x", "/things", "/form"}


def test_no_default_429_without_a_default(ratelimit: t.Any) -> None:
    document = fetch(build_limited_app(ratelimit, default=None))
    assert too_many(document, "/a") is None
    assert too_many(document, "/things", "delete") is None
    assert too_many(document, "/own") is not None


def test_no_429_at_all_without_the_limiter_on_the_app(ratelimit: t.Any) -> None:
    # Views limited by a limiter registered on another app, or on none: no limit applies.
    document = fetch(build_limited_app(ratelimit, extension=False))
    for path, item in document["paths"].items():
        for method in item:
            assert too_many(document, path, method) is None, (path, method)


def test_a_method_restricted_view_limit_replaces_the_default_on_other_methods(
    ratelimit: t.Any,
) -> None:
    document = fetch(build_limited_app(ratelimit))
    check_429(document, too_many(document, "/form", "post"), "3 per 1 minute")
    assert too_many(document, "/form", "get") is None


def test_the_429_documents_what_the_limiter_reports_for_each_operation() -> None:
    # apidocs' side of the contract, without flask-plug-ratelimit installed.
    app = Flask(__name__)
    limiter = LimiterStandIn({
        ("a", "POST"): ("5 per 1 second",),
        ("api.things", "DELETE"): ("1 per 1 day", "2 per 1 week"),
    })  # fmt: skip
    app.extensions["flask-plug-ratelimit"] = limiter
    APIDocs(app)
    app.add_url_rule("/a", "a", fresh(), methods=["GET", "POST"])

    class Things(MethodView):
        def get(self) -> str:
            return ""

        def delete(self) -> str:
            return ""

    api = Blueprint("api", __name__, url_prefix="/api")
    api.add_url_rule("/things", view_func=Things.as_view("things"))
    app.register_blueprint(api)

    document = fetch(app)
    check_429(document, too_many(document, "/a", "post"), "5 per 1 second")
    response = too_many(document, "/api/things", "delete")
    check_429(document, response, "1 per 1 day", "2 per 1 week")
    assert response is not None
    assert response["description"] == "Too many requests (1 per 1 day, 2 per 1 week)."
    assert too_many(document, "/a") is None
    assert too_many(document, "/api/things") is None
    assert sorted(limiter.asked) == [
        ("a", "GET"), ("a", "POST"), ("api.things", "DELETE"), ("api.things", "GET"),
    ]  # fmt: skip


@dataclasses.dataclass
class Problem:
    """The app's own Problem: not the RFC 9457 one."""

    code: int
    reason: str


@pytest.mark.parametrize(
    "route",
    [
        pytest.param(
            "/a-first",
        ),
        "/z-last",
    ],
)
def test_an_app_type_named_problem_does_not_replace_the_429_body(
    app: Flask, route: str, limiter: t.Any
) -> None:
    # Routes are documented in path order: the app's Problem comes before or after the 429.
    def report() -> Problem:
        return Problem(1, "x")

    app.add_url_rule(route, "report", report)
    app.add_url_rule("/m-limited", "limited", limiter.limit("1 per 1 second")(fresh()))

    document = fetch(app)
    check_429(document, too_many(document, "/m-limited"))
    own = document["paths"][route]["get"]["responses"]["200"]["content"]["application/json"]
    assert set(resolve(document, own["schema"])["properties"]) == {"code", "reason"}


def test_auth_and_limits_together(app: Flask, limiter: t.Any) -> None:
    @app.post("/admin/reset")
    @roles_required("admin")
    @limiter.limit("1 per 1 minute")
    def reset() -> str:
        """Reset everything."""
        return ""

    document = fetch(app)
    operation = document["paths"]["/admin/reset"]["post"]
    assert set(operation["responses"]) == {"200", "401", "403", "429"}
    assert operation["security"] == [{"session": ["admin"]}, {"bearer": ["admin"]}]
    check_429(document, operation["responses"]["429"], "1 per 1 minute")
    assert operation["summary"] == "Reset everything."


def test_metadata_of_other_extensions_is_ignored(app: Flask) -> None:
    def view():  # type: ignore[no-untyped-def]
        return ""

    view.__flask_plug__ = {  # type: ignore[attr-defined]
        "cors": {"origins": ["https://example.com"]},
        "timer": {"budget_ms": 50},
    }
    app.add_url_rule("/x", "x", view)
    weird = Blueprint("weird", __name__)
    weird.__flask_plug__ = "not a dict"  # type: ignore[attr-defined]
    weird.add_url_rule("/y", "y", fresh())
    app.register_blueprint(weird)

    document = fetch(app)
    assert document["paths"]["/x"]["get"] == {
        "operationId": "x", "responses": {"200": {"description": "OK"}},
    }  # fmt: skip
    assert document["paths"]["/y"]["get"]["tags"] == ["weird"]
