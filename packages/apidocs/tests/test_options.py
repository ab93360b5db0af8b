"""Each option: keyword beats ``APIDOCS_*`` config beats default; bad values are refused
at ``init_app`` naming the config key."""

from __future__ import annotations

import json
import typing as t

import pytest
from flask import Flask

from flask_plug.apidocs import APIDocs

Document = dict[str, t.Any]


def make_app(config: dict[str, t.Any] | None = None) -> Flask:
    app = Flask("myapp")
    app.config.update(config or {})
    app.add_url_rule("/health", "health", lambda: "ok")
    app.add_url_rule("/admin/users", "admin_users", lambda: "[]")
    return app


def get(app: Flask, url: str) -> tuple[int, bytes]:
    with app.test_client().get(url) as response:
        return response.status_code, response.get_data()


def document(app: Flask, prefix: str = "/docs") -> Document:
    status, data = get(app, f"{prefix}/openapi.json")
    assert status == 200
    result: Document = json.loads(data)
    return result


# option, a keyword value, a config value
OPTIONS: list[tuple[str, t.Any, t.Any]] = [
    ("title", "Keyword API", "Config API"),
    ("version", "3.0.0", "2.0.0"),
    ("description", "From the *keyword*.", "From the *config*."),
]


def info(app: Flask, option: str) -> t.Any:
    return document(app)["info"].get(option)


@pytest.mark.parametrize(("option", "keyword", "config"), OPTIONS)
def test_info_options_keyword_beats_config_beats_default(
    option: str, keyword: str, config: str
) -> None:
    defaults = {"title": "myapp", "version": "0.1.0", "description": None}
    key = f"APIDOCS_{option.upper()}"

    app = make_app()
    APIDocs(app)
    assert info(app, option) == defaults[option]

    app = make_app({key: config})
    APIDocs(app)
    assert info(app, option) == config

    app = make_app({key: config})
    APIDocs(app, **{option: keyword})
    assert info(app, option) == keyword

    app = make_app({key: config})
    APIDocs(**{option: None}).init_app(app)  # None means "not given"
    assert info(app, option) == config


def test_init_app_keywords_beat_constructor_keywords_which_beat_config() -> None:
    apidocs = APIDocs(title="Shared", version="9.9")
    first = make_app({"APIDOCS_TITLE": "Config", "APIDOCS_VERSION": "1.0"})
    second = make_app({"APIDOCS_TITLE": "Config", "APIDOCS_VERSION": "1.0"})
    apidocs.init_app(first)
    apidocs.init_app(second, title="Second only")
    assert document(first)["info"] == {"title": "Shared", "version": "9.9"}
    assert document(second)["info"] == {"title": "Second only", "version": "9.9"}


def test_the_title_shows_on_both_pages() -> None:
    app = make_app({"APIDOCS_TITLE": "Config <Title>"})
    APIDocs(app)
    for url in ("/docs/", "/docs/redoc"):
        status, body = get(app, url)
        assert status == 200
        assert b"Config &lt;Title&gt;" in body
        assert b"Config <Title>" not in body


PAGES = ("/", "/redoc", "/openapi.json", "/_static/swagger/swagger-ui-bundle.js",
         "/_static/redoc/redoc.standalone.js", "/_static/apidocs/swagger-init.js")  # fmt: skip


@pytest.mark.parametrize(
    ("keyword", "config", "prefix"),
    [
        (None, None, "/docs"),
        (None, "/config-docs", "/config-docs"),
        ("/api/docs", "/config-docs", "/api/docs"),
    ],
)
def test_url_prefix_moves_every_page(keyword: str | None, config: str | None, prefix: str) -> None:
    app = make_app({} if config is None else {"APIDOCS_URL_PREFIX": config})
    APIDocs(app, url_prefix=keyword)
    for page in PAGES:
        assert get(app, prefix + page)[0] == 200, prefix + page
    for other in {"/docs", "/config-docs", "/api/docs"} - {prefix}:
        for page in PAGES:
            assert get(app, other + page)[0] == 404, other + page
    # The pages load the document and their assets from the new place.
    _, swagger = get(app, prefix + "/")
    assert f'data-url="{prefix}/openapi.json"'.encode() in swagger
    assert f"{prefix}/_static/swagger/swagger-ui-bundle.js".encode() in swagger
    _, redoc = get(app, prefix + "/redoc")
    assert f"{prefix}/openapi.json".encode() in redoc
    # The docs never document themselves, wherever they are.
    assert set(document(app, prefix)["paths"]) == {"/health", "/admin/users"}


@pytest.mark.parametrize(
    ("keyword", "config", "paths"),
    [
        (None, None, {"/health", "/admin/users"}),
        (None, ["health"], {"/admin/users"}),
        (["admin_users"], ["health"], {"/health"}),
        ((), ["health"], {"/health", "/admin/users"}),  # an empty keyword is still given
        ({"health", "admin_users"}, None, set()),
    ],
)
def test_exclude_keyword_beats_config_beats_default(
    keyword: t.Any, config: t.Any, paths: set[str]
) -> None:
    app = make_app({} if config is None else {"APIDOCS_EXCLUDE": config})
    APIDocs(app, exclude=keyword)
    assert set(document(app)["paths"]) == paths


@pytest.mark.parametrize(
    ("keyword", "config", "ui"),
    [(None, None, True), (None, False, False), (True, False, True), (False, True, False)],
)
def test_ui_keyword_beats_config_beats_default(
    keyword: bool | None, config: bool | None, ui: bool
) -> None:
    app = make_app({} if config is None else {"APIDOCS_UI": config})
    APIDocs(app, ui=keyword)
    assert get(app, "/docs/openapi.json")[0] == 200
    for page in ("/docs/", "/docs/redoc", "/docs/_static/swagger/swagger-ui.css",
                 "/docs/_static/redoc/redoc.standalone.js"):  # fmt: skip
        assert get(app, page)[0] == (200 if ui else 404), page


def test_without_ui_only_the_document_is_served() -> None:
    app = make_app()
    APIDocs(app, ui=False)
    status, body = get(app, "/docs/openapi.json")
    assert status == 200
    assert set(json.loads(body)["paths"]) == {"/health", "/admin/users"}
    for page in ("/docs", "/docs/", "/docs/redoc", "/docs/_static/swagger/swagger-ui-bundle.js",
                 "/docs/_static/redoc/redoc.standalone.js"):  # fmt: skip
        assert get(app, page)[0] == 404, page


def test_without_ui_the_page_scripts_are_not_served() -> None:
    app = make_app()
    APIDocs(app, ui=False)
    for script in ("swagger-init.js", "redoc-init.js"):
        assert get(app, f"/docs/_static/apidocs/{script}")[0] == 404


BAD_VALUES: list[tuple[str, t.Any]] = [
    ("title", ""),
    ("title", "   "),
    ("title", 42),
    ("version", ""),
    ("version", 1.0),
    ("description", ""),
    ("description", ["not", "text"]),
    ("url_prefix", "docs"),
    ("url_prefix", "/docs/"),
    ("url_prefix", ""),
    ("url_prefix", 5),
    ("exclude", "health"),
    ("exclude", ["health", ""]),
    ("exclude", [3]),
    ("exclude", 7),
    ("ui", "yes"),
    ("ui", 1),
]


@pytest.mark.parametrize(("option", "value"), BAD_VALUES)
@pytest.mark.parametrize("how", ["keyword", "init_app", "config"])
def test_bad_values_raise_value_error_naming_the_key(option: str, value: t.Any, how: str) -> None:
    key = f"APIDOCS_{option.upper()}"
    app = make_app({key: value} if how == "config" else {})
    with pytest.raises(ValueError, match=key):
        if how == "keyword":
            APIDocs(app, **{option: value})
        elif how == "init_app":
            APIDocs().init_app(app, **{option: value})
        else:
            APIDocs(app)
    # Nothing was registered: a corrected second attempt works.
    assert "flask-plug-apidocs" not in app.extensions
    assert not any(r.endpoint.startswith("apidocs.") for r in app.url_map.iter_rules())
    app.config.pop(key, None)
    APIDocs(app)
    assert get(app, "/docs/openapi.json")[0] == 200


def test_a_bad_constructor_value_is_refused_at_init_app() -> None:
    apidocs = APIDocs(ui="no")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="APIDOCS_UI"):
        apidocs.init_app(make_app())


@pytest.mark.parametrize("where", ["constructor", "init_app"])
def test_an_unknown_keyword_is_a_type_error(where: str) -> None:
    app = make_app()
    with pytest.raises(TypeError, match="colour"):
        if where == "constructor":
            APIDocs(app, colour="blue")  # type: ignore[call-arg]
        else:
            APIDocs().init_app(app, colour="blue")  # type: ignore[call-arg]
    assert "flask-plug-apidocs" not in app.extensions


def test_init_app_twice_is_a_runtime_error() -> None:
    app = make_app()
    apidocs = APIDocs(app)
    with pytest.raises(RuntimeError, match="already registered"):
        apidocs.init_app(app)
    with pytest.raises(RuntimeError, match="already registered"):
        APIDocs(app, url_prefix="/other")
    assert get(app, "/other/openapi.json")[0] == 404


def test_document_of_an_app_without_the_docs_is_a_runtime_error() -> None:
    with pytest.raises(RuntimeError, match=r"not initialised on this app: call init_app\(app\)"):
        APIDocs().document(make_app())


def test_one_object_serves_several_apps_with_their_own_settings() -> None:
    apidocs = APIDocs(title="Shared")
    first = make_app({"APIDOCS_URL_PREFIX": "/first"})
    second = make_app({"APIDOCS_EXCLUDE": ["health"]})
    apidocs.init_app(first)
    apidocs.init_app(second)
    assert set(document(first, "/first")["paths"]) == {"/health", "/admin/users"}
    assert set(document(second)["paths"]) == {"/admin/users"}
    with first.app_context():
        assert apidocs.document()["info"]["title"] == "Shared"
    assert apidocs.document(second)["paths"].keys() == {"/admin/users"}


def test_options_are_read_once_at_init_app() -> None:
    app = make_app({"APIDOCS_EXCLUDE": ["health", "health"], "APIDOCS_TITLE": "Before"})
    APIDocs(app)
    app.config["APIDOCS_TITLE"] = "Too late"
    app.config["APIDOCS_EXCLUDE"] = []
    app.config["APIDOCS_UI"] = False
    served = document(app)
    assert served["info"]["title"] == "Before"
    assert set(served["paths"]) == {"/admin/users"}
    assert get(app, "/docs/")[0] == 200
