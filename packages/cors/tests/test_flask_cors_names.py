"""flask-cors's option names fail at start-up with what to write instead, as keywords and
as config keys; the names that mean the same here are accepted as they are."""

from __future__ import annotations

import re
import typing as t

import pytest
from flask import Blueprint, Flask

from flask_plug.cors import CORS, cross_origin

FRONTEND = "https://app.example.com"
# Every flask-cors option but those that mean the same here, and what this package does.
REMOVED = {
    "send_wildcard": "'*' is sent exactly when origins is '*' and credentials are off",
    "always_send": "a request without Origin gets Vary: Origin and no CORS headers",
    "vary_header": "Vary: Origin is always sent where the answer depends on the origin",
    "automatic_options": "preflights are always answered, before routing",
    "intercept_exceptions": "error responses always get the CORS headers",
}


def app_with(**config: t.Any) -> Flask:
    app = Flask(__name__)
    app.config.update(config)
    app.get("/")(lambda: "ok")
    return app


def test_supports_credentials_in_config_names_the_new_key() -> None:
    app = app_with(CORS_ORIGINS=[FRONTEND], CORS_SUPPORTS_CREDENTIALS=True)
    message = "CORS_SUPPORTS_CREDENTIALS is flask-cors's name: use CORS_ALLOW_CREDENTIALS=True"
    with pytest.raises(ValueError, match=re.escape(message)):
        CORS(app)


def test_supports_credentials_as_a_keyword_names_the_new_keyword() -> None:
    message = "supports_credentials is flask-cors's name: use allow_credentials=True"
    with pytest.raises(TypeError, match=re.escape(message)):
        CORS(app_with(), origins=[FRONTEND], supports_credentials=True)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=re.escape(message)):
        CORS().init_app(app_with(), supports_credentials=True)  # type: ignore[call-arg]


def test_supports_credentials_in_each_scope_names_that_scopes_spelling() -> None:
    with pytest.raises(
        TypeError,
        match=re.escape(
            "cross_origin(supports_credentials=...) is flask-cors's name:"
            " use cross_origin(allow_credentials=True)"
        ),
    ):
        cross_origin(origins=[FRONTEND], supports_credentials=True)  # type: ignore[call-arg]
    with pytest.raises(
        TypeError,
        match=re.escape(
            "configure_blueprint(supports_credentials=...) is flask-cors's name:"
            " use configure_blueprint(blueprint, allow_credentials=False)"
        ),
    ):
        CORS().configure_blueprint(Blueprint("bp", __name__), supports_credentials=False)  # type: ignore[call-arg]
    rules = {"/api/*": {"origins": [FRONTEND], "supports_credentials": True}}
    with pytest.raises(
        TypeError,
        match=re.escape(
            "CORS_RESOURCES['/api/*']['supports_credentials'] is flask-cors's name:"
            " use {'allow_credentials': True} in CORS_RESOURCES['/api/*']"
        ),
    ):
        CORS(app_with(CORS_RESOURCES=rules))


@pytest.mark.parametrize("option", sorted(REMOVED))
def test_options_with_no_equivalent_fail_in_config_and_as_keywords(option: str) -> None:
    key = f"CORS_{option.upper()}"
    with pytest.raises(ValueError) as config_error:
        CORS(app_with(**{key: True}))
    assert str(config_error.value).startswith(
        f"{key} is a flask-cors option with no equivalent here: remove it; {REMOVED[option]}"
    )
    assert "cors.html#coming-from-flask-cors" in str(config_error.value)
    with pytest.raises(TypeError, match=re.escape(f"{option} is a flask-cors option")):
        CORS(app_with(), origins=[FRONTEND], **{option: True})
    with pytest.raises(TypeError, match=re.escape(f"cross_origin({option}=...) is a flask-cors")):
        cross_origin(**{option: False})  # type: ignore[misc]


@pytest.mark.parametrize("option", ["supports_credentials", *sorted(REMOVED)])
def test_a_flask_cors_key_set_to_none_counts_as_not_set(option: str) -> None:
    CORS(app_with(CORS_ORIGINS=[FRONTEND], **{f"CORS_{option.upper()}": None}))


def test_names_that_mean_the_same_are_accepted_as_they_are() -> None:
    app = app_with(
        CORS_ORIGINS=[FRONTEND],
        CORS_METHODS=["GET", "POST"],
        CORS_ALLOW_HEADERS=["Content-Type", "Authorization"],
        CORS_EXPOSE_HEADERS=["X-Total-Count"],
        CORS_MAX_AGE=600,
        CORS_ALLOW_PRIVATE_NETWORK=False,
        CORS_RESOURCES={"/api/*": {"max_age": 60}},
    )
    CORS(app)
    response = app.test_client().options(
        "/", headers={"Origin": FRONTEND, "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        (r"/api/*", "CORS_RESOURCES must map path patterns to option dicts"),
        ([r"/api/*", r"/v2/*"], "CORS_RESOURCES must map path patterns to option dicts"),
        ({"*": {"origins": "*"}}, "'*' is flask-cors's 'every path': leave resources out"),
        ({r"/api/.*": {"origins": "*"}}, "'/api/.*' looks like a flask-cors regex"),
        ({r"/api/v\d+/users": {"origins": "*"}}, "looks like a flask-cors regex"),
        ({r"^/api/": {"origins": "*"}}, "looks like a flask-cors regex"),
        ({"/api/*": {}}, "CORS_RESOURCES['/api/*'] sets no options, so it changes nothing"),
    ],
)
def test_flask_cors_forms_of_resources_are_refused(resources: t.Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        CORS(app_with(CORS_RESOURCES=resources))
    with pytest.raises(ValueError, match=re.escape(message)):
        CORS(app_with(), resources=resources)


def test_paths_with_plus_and_parentheses_are_still_paths() -> None:
    app = app_with(CORS_RESOURCES={"/odata/Products(1)": {"origins": [FRONTEND]}})
    app.add_url_rule("/odata/Products(1)", "product", lambda: "product")
    CORS(app)
    response = app.test_client().get("/odata/Products(1)", headers={"Origin": FRONTEND})
    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"CORS_ORIGINS": r"https://.*\.example\.com"}, "flask-cors read strings as regular"),
        ({"CORS_ORIGINS": [r"http://localhost:\d+"]}, "use re.compile(...) for a pattern"),
        ({"CORS_ALLOW_HEADERS": ["X-Custom-.*"]}, "flask-cors read strings as regular"),
        ({"CORS_EXPOSE_HEADERS": "X-*"}, "CORS_EXPOSE_HEADERS: 'X-*' is not a header name"),
    ],
)
def test_flask_cors_regex_strings_are_refused_with_a_hint(
    config: dict[str, t.Any], message: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        CORS(app_with(**config))


def test_cors_on_a_blueprint_points_to_configure_blueprint() -> None:
    with pytest.raises(TypeError, match=re.escape("cors.configure_blueprint(blueprint, ...)")):
        CORS(Blueprint("api", __name__), origins=[FRONTEND])  # type: ignore[arg-type]
