"""Rules per view, blueprint, path and app: the most specific scope wins, option by option."""

from __future__ import annotations

import re
import typing as t

import pytest
from flask import Blueprint, Flask
from flask.views import MethodView

from flask_plug.cors import CORS, cross_origin

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

APP_ORIGIN = "https://app.example.com"
API_ORIGIN = "https://api-client.example.com"
VIEW_ORIGIN = "https://view.example.com"
PATH_ORIGIN = "https://path.example.com"


def acao(client: FlaskClient, path: str, origin: str) -> str | None:
    value: str | None = client.get(path, headers={"Origin": origin}).headers.get(
        "Access-Control-Allow-Origin"
    )
    return value


@pytest.fixture
def scoped() -> Flask:
    cors = CORS()
    app = Flask(__name__)
    api = Blueprint("api", __name__, url_prefix="/api")
    cors.configure_blueprint(api, origins=[API_ORIGIN], max_age=60)

    @api.get("/plain")
    def plain() -> str:
        return "ok"

    @api.get("/special")
    @cross_origin(origins=[VIEW_ORIGIN])
    def special() -> str:
        return "ok"

    @cross_origin(origins=[])
    @api.get("/closed")
    def closed() -> str:
        return "ok"

    @app.get("/public/thing")
    def public_thing() -> str:
        return "ok"

    @app.get("/home")
    def home() -> str:
        return "ok"

    app.register_blueprint(api)
    cors.init_app(
        app,
        origins=[APP_ORIGIN],
        resources={"/public/*": {"origins": "*"}, "/api/*": {"origins": [PATH_ORIGIN]}},
    )
    return app


def test_app_rules_apply_outside_other_scopes(scoped: Flask) -> None:
    client = scoped.test_client()
    assert acao(client, "/home", APP_ORIGIN) == APP_ORIGIN
    assert acao(client, "/home", API_ORIGIN) is None


def test_path_rule_beats_app_rules(scoped: Flask) -> None:
    client = scoped.test_client()
    assert acao(client, "/public/thing", "https://anyone.test") == "*"


def test_blueprint_beats_path_rule(scoped: Flask) -> None:
    client = scoped.test_client()
    assert acao(client, "/api/plain", API_ORIGIN) == API_ORIGIN
    assert acao(client, "/api/plain", PATH_ORIGIN) is None


def test_view_beats_blueprint_and_inherits_the_rest(scoped: Flask, send_preflight: t.Any) -> None:
    client = scoped.test_client()
    assert acao(client, "/api/special", VIEW_ORIGIN) == VIEW_ORIGIN
    assert acao(client, "/api/special", API_ORIGIN) is None
    response = send_preflight(client, "/api/special", "GET", origin=VIEW_ORIGIN)
    assert response.headers["Access-Control-Max-Age"] == "60"  # from the blueprint


def test_empty_origins_turn_cors_off_for_a_view(scoped: Flask) -> None:
    response = scoped.test_client().get("/api/closed", headers={"Origin": API_ORIGIN})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Vary" not in response.headers


def test_unrouted_paths_under_a_blueprint_prefix_follow_path_rules(scoped: Flask) -> None:
    response = scoped.test_client().get("/api/missing", headers={"Origin": PATH_ORIGIN})
    assert response.status_code == 404
    assert response.headers["Access-Control-Allow-Origin"] == PATH_ORIGIN


def test_preflight_uses_the_rules_of_the_route_for_the_requested_method(
    send_preflight: t.Any,
) -> None:
    app = Flask(__name__)
    CORS(app, origins=[APP_ORIGIN])

    @app.get("/thing")
    def read_thing() -> str:
        return "ok"

    @app.delete("/thing")
    @cross_origin(origins=[VIEW_ORIGIN], methods=["DELETE"])
    def delete_thing() -> str:
        return "ok"

    client = app.test_client()
    assert send_preflight(client, "/thing", "DELETE", origin=VIEW_ORIGIN).status_code == 204
    assert send_preflight(client, "/thing", "DELETE", origin=APP_ORIGIN).status_code == 403


def test_nested_blueprints_inner_wins() -> None:
    cors = CORS()
    app = Flask(__name__)
    outer = Blueprint("outer", __name__, url_prefix="/outer")
    inner = Blueprint("inner", __name__, url_prefix="/inner")
    cors.configure_blueprint(outer, origins=[API_ORIGIN], expose_headers=["X-Outer"])
    cors.configure_blueprint(inner, origins=[VIEW_ORIGIN])

    @inner.get("/x")
    def x() -> str:
        return "ok"

    @outer.get("/y")
    def y() -> str:
        return "ok"

    outer.register_blueprint(inner)
    app.register_blueprint(outer)
    cors.init_app(app)
    client = app.test_client()
    response = client.get("/outer/inner/x", headers={"Origin": VIEW_ORIGIN})
    assert response.headers["Access-Control-Allow-Origin"] == VIEW_ORIGIN
    assert response.headers["Access-Control-Expose-Headers"] == "x-outer"
    assert acao(client, "/outer/y", API_ORIGIN) == API_ORIGIN
    assert acao(client, "/outer/inner/x", API_ORIGIN) is None


def test_method_view() -> None:
    app = Flask(__name__)
    CORS(app)

    class Items(MethodView):
        def get(self) -> str:
            return "ok"

    app.add_url_rule(
        "/items", view_func=cross_origin(origins=[VIEW_ORIGIN])(Items.as_view("items"))
    )
    assert acao(app.test_client(), "/items", VIEW_ORIGIN) == VIEW_ORIGIN


def test_first_matching_path_rule_wins_and_regex_must_match_whole_path() -> None:
    app = Flask(__name__)
    app.add_url_rule("/v1/users", "users", lambda: "ok")
    app.add_url_rule("/v1/users/admin", "admin", lambda: "ok")
    CORS(
        app,
        resources=[
            (re.compile(r"/v1/users"), {"origins": [VIEW_ORIGIN]}),
            ("/v1/*", {"origins": [PATH_ORIGIN]}),
        ],
    )
    client = app.test_client()
    assert acao(client, "/v1/users", VIEW_ORIGIN) == VIEW_ORIGIN
    assert acao(client, "/v1/users/admin", VIEW_ORIGIN) is None
    assert acao(client, "/v1/users/admin", PATH_ORIGIN) == PATH_ORIGIN


def test_path_rules_are_case_sensitive_and_decoded_like_routes() -> None:
    app = Flask(__name__)
    CORS(app, resources={"/api/*": {"origins": [PATH_ORIGIN]}})
    client = app.test_client()
    assert acao(client, "/API/x", PATH_ORIGIN) is None
    assert acao(client, "/%61pi/x", PATH_ORIGIN) == PATH_ORIGIN  # %61 is "a"
    assert acao(client, "/api+x", PATH_ORIGIN) is None


def test_a_shadowed_path_rule_raises() -> None:
    with pytest.raises(ValueError, match=r"CORS_RESOURCES\['/api/v1/\*'\] can never apply"):
        CORS(
            Flask(__name__),
            resources={"/api/*": {"origins": "*"}, "/api/v1/*": {"origins": [APP_ORIGIN]}},
        )


def test_decorator_metadata_is_kept_next_to_other_extensions() -> None:
    def view() -> str:
        return "ok"

    view.__flask_plug__ = {"auth": {"roles": ["admin"]}}  # type: ignore[attr-defined]
    decorated = cross_origin(origins=[VIEW_ORIGIN], max_age=5)(view)
    assert decorated is view
    assert decorated.__flask_plug__ == {  # type: ignore[attr-defined]
        "auth": {"roles": ["admin"]},
        "cors": {"origins": [VIEW_ORIGIN], "max_age": 5},
    }
