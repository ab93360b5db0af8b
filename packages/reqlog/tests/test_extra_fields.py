"""REQLOG_EXTRA_FIELDS: the app's own fields on each line, from a function called as the
request ends; in JSON lines and through ``%{name}n`` atoms, escaped and redacted like
every other value, and never at the cost of a request."""

from __future__ import annotations

import json
import logging
import re
import typing as t

import pytest
from flask import Flask, abort, g, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_plug.reqlog import REDACTED, RequestLog

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


# What the issue asked for: the user, the tenant, the endpoint, any header.
def standard_fields() -> dict[str, object]:
    return {
        "user_id": g.get("user_id"),
        "tenant": request.headers.get("X-Tenant"),
        "endpoint": request.endpoint,
    }


@pytest.fixture
def views(app: Flask) -> Flask:
    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        g.user_id = user_id
        return "hello"

    @app.get("/users/<int:user_id>/gone")
    def gone(user_id: int) -> None:
        g.user_id = user_id
        abort(410)

    @app.get("/users/<int:user_id>/crash")
    def crash(user_id: int) -> None:
        g.user_id = user_id
        raise RuntimeError("crash")

    @app.get("/users/<int:user_id>/async")
    async def user_async(user_id: int) -> str:
        g.user_id = user_id
        return "hello"

    return app


def get(client: FlaskClient, path: str = "/", **kwargs: t.Any) -> int:
    with client.get(path, **kwargs) as response:
        response.get_data()
        return response.status_code


def json_lines(read_log: t.Callable[[], list[str]]) -> list[dict[str, t.Any]]:
    return [json.loads(line) for line in read_log()]


def test_json_lines_carry_the_fields(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(views, format="json", extra_fields=standard_fields)
    client = views.test_client()
    assert get(client, "/users/7", headers={"X-Tenant": "acme"}) == 200
    assert get(client, "/users/8") == 200
    first, second = json_lines(read_log)
    assert (first["user_id"], first["tenant"], first["endpoint"]) == (7, "acme", "user")
    assert (second["user_id"], second["tenant"], second["endpoint"]) == (8, None, "user")
    assert list(first)[-3:] == ["user_id", "tenant", "endpoint"]  # after the standard keys
    assert first["status"] == 200 and first["path"] == "/users/7"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/users/7/gone", 410),
        ("/users/7/crash", 500),
        ("/users/7/async", 200),
    ],
)
def test_fields_are_taken_for_errors_and_async_views_too(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]], path: str, status: int
) -> None:
    reqlog.init_app(views, format="json", extra_fields=standard_fields)
    assert get(views.test_client(), path, headers={"X-Tenant": "acme"}) == status
    (line,) = json_lines(read_log)
    assert (line["status"], line["user_id"], line["tenant"]) == (status, 7, "acme")


def test_a_404_has_the_fields_its_request_has(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(views, format="json", extra_fields=standard_fields)
    assert get(views.test_client(), "/nowhere", headers={"X-Tenant": "acme"}) == 404
    (line,) = json_lines(read_log)
    assert (line["user_id"], line["tenant"], line["endpoint"]) == (None, "acme", None)


def test_config_key_gives_the_function(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    views.config["REQLOG_EXTRA_FIELDS"] = standard_fields
    reqlog.init_app(views, format="%>s %{user_id}n %{tenant}n %{endpoint}n")
    assert get(views.test_client(), "/users/3", headers={"X-Tenant": "acme"}) == 200
    assert read_log() == ["200 3 acme user"]


def test_a_missing_field_is_a_dash(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(
        views, format="%{user_id}n %{tenant}n %{nothing}n|", extra_fields=standard_fields
    )
    assert get(views.test_client(), "/nowhere") == 404
    assert read_log() == ["- - -|"]


def test_json_standard_keys_win_a_clash(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(
        views, format="json", extra_fields=lambda: {"status": 999, "request_id": "forged", "a": 1}
    )
    response = views.test_client().get("/users/1", headers={"X-Request-ID": "real"})
    response.close()
    (line,) = json_lines(read_log)
    assert (line["status"], line["request_id"], line["a"]) == (200, "real", 1)


def test_values_become_what_a_line_can_hold(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    class User:
        def __str__(self) -> str:
            return "User(7)"

    fields = {"account": User(), "ratio": 0.5, "nan": float("nan"), "ok": True, 3: "three"}
    reqlog.init_app(views, format="json", extra_fields=lambda: fields)
    get(views.test_client(), "/users/1")
    (raw,) = read_log()
    line = json.loads(raw)
    assert (line["account"], line["ratio"], line["nan"], line["ok"], line["3"]) == (
        "User(7)",
        0.5,
        "nan",
        True,
        "three",
    )


def test_text_values_are_escaped(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(
        views,
        format='"%{note}n" %{ok}n %{n}n',
        extra_fields=lambda: {"note": 'a "quote"\nnew line\\ café', "ok": False, "n": 2},
    )
    get(views.test_client(), "/users/1")
    assert read_log() == ['"a \\"quote\\"\\x0anew line\\\\ caf\\xc3\\xa9" false 2']


def test_a_function_that_raises_costs_its_fields_only_and_is_logged_once(
    views: Flask,
    reqlog: RequestLog,
    read_log: t.Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> dict[str, object]:
        return {"user_id": g.user.id}  # no g.user: AttributeError

    reqlog.init_app(views, format="%>s %{user_id}n", extra_fields=broken)
    client = views.test_client()
    with caplog.at_level(logging.ERROR, logger=views.logger.name):
        assert [get(client, "/users/1") for _ in range(3)] == [200, 200, 200]
    assert read_log() == ["200 -"] * 3
    failures = [r for r in caplog.records if "REQLOG_EXTRA_FIELDS" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and failures[0].exc_info[0] is AttributeError
    assert re.fullmatch(r"[0-9a-f]{32}", vars(failures[0])["request_id"])


def test_each_kind_of_failure_is_logged_once(
    views: Flask,
    reqlog: RequestLog,
    read_log: t.Callable[[], list[str]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def picky() -> t.Any:
        kind = request.args.get("kind")
        if kind == "key":
            return {"x": {}["missing"]}
        if kind == "list":
            return ["not", "a", "dict"]
        return None  # no fields

    reqlog.init_app(views, format="json", extra_fields=picky)
    client = views.test_client()
    with caplog.at_level(logging.ERROR, logger=views.logger.name):
        for kind in ["key", "list", "key", "list", "none"]:
            assert get(client, f"/users/1?kind={kind}") == 200
    assert len(read_log()) == 5
    failures = [r.exc_info[0] for r in caplog.records if r.exc_info]  # type: ignore[index]
    assert failures == [KeyError, TypeError]
    assert "got list" in caplog.text


def test_without_the_option_no_hook_runs(views: Flask, reqlog: RequestLog) -> None:
    reqlog.init_app(views)
    assert views.teardown_request_funcs == {}


def test_an_extra_field_atom_needs_the_function(views: Flask, reqlog: RequestLog) -> None:
    with pytest.raises(
        ValueError, match=r"^REQLOG_FORMAT: atom '%\{tenant\}n'.*REQLOG_EXTRA_FIELDS"
    ):
        reqlog.init_app(views, format="%h %{tenant}n")


@pytest.mark.parametrize("value", ["myapp:fields", {"user_id": 1}, 42])
def test_a_function_is_required(views: Flask, reqlog: RequestLog, value: object) -> None:
    views.config["REQLOG_EXTRA_FIELDS"] = value
    with pytest.raises(ValueError, match="^REQLOG_EXTRA_FIELDS must be a function"):
        reqlog.init_app(views)


# --- redaction -----------------------------------------------------------------------------

SECRET = "s3cr3t-t0ken-value"


def header_fields() -> dict[str, object]:
    authorization = request.headers.get("Authorization", "")
    return {
        # Secret by its name, whatever it holds.
        "api_key": request.headers.get("X-Tenant"),
        "X-Auth-Token": "anything",
        # Secret by what it holds: a secret header, a part of one, a secret parameter.
        "header": authorization,
        "bearer": authorization.removeprefix("Bearer "),
        "jar": request.cookies.get("session_id"),
        "reset": request.args.get("token"),
        "signed": f"sig:{request.args.get('token')}",
        # A URL: its secret parameters are redacted, the rest is kept.
        "url": request.url,
        # Kept: public values.
        "tenant": request.headers.get("X-Tenant"),
        "page": request.args.get("page"),
    }


def test_secret_fields_are_redacted(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(views, format="json", extra_fields=header_fields)
    client = views.test_client()
    client.set_cookie("session_id", SECRET + "-cookie")
    get(
        client,
        f"/users/1?token={SECRET}-query&page=2",
        headers={"Authorization": f"Bearer {SECRET}", "X-Tenant": "acme"},
    )
    (raw,) = read_log()
    assert SECRET not in raw
    line = json.loads(raw)
    for name in ["api_key", "X-Auth-Token", "header", "bearer", "jar", "reset"]:
        assert line[name] == REDACTED, name
    assert line["signed"] == REDACTED
    assert line["url"] == "http://localhost/users/1?token=REDACTED&page=2"
    assert (line["tenant"], line["page"]) == ("acme", "2")


def test_secret_fields_are_redacted_in_text_lines(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(
        views, format="%{bearer}n %{url}n %{api_key}n %{tenant}n", extra_fields=header_fields
    )
    get(
        views.test_client(),
        f"/users/1?token={SECRET}",
        headers={"Authorization": f"Bearer {SECRET}", "X-Tenant": "acme"},
    )
    assert read_log() == ["REDACTED http://localhost/users/1?token=REDACTED REDACTED acme"]


def test_redact_option_names_secret_fields(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(
        views, format="%{ssn}n %{user_ssn}n %{tenant}n", redact=["ssn"],
        extra_fields=lambda: {"ssn": "123", "user_ssn": "456", "tenant": "acme"},
    )  # fmt: skip
    get(views.test_client(), "/users/1")
    assert read_log() == ["REDACTED REDACTED acme"]


# --- whatever the function returns ---------------------------------------------------------

VALUES = (
    st.text(max_size=300)
    | st.integers()
    | st.floats()
    | st.booleans()
    | st.none()
    | st.binary(max_size=20)
)


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=st.dictionaries(st.text(max_size=20), VALUES, max_size=5))
def test_any_fields_make_one_printable_text_line_and_valid_json(
    tmp_path_factory: pytest.TempPathFactory, fields: dict[str, object]
) -> None:
    folder = tmp_path_factory.mktemp("fields")
    # Any name an atom can hold: no braces, no percent sign.
    atoms = [f'"%{{{name}}}n"' for name in fields if name and not set(name) & set("{}%")]
    text_format = " ".join(atoms) or "%>s"
    for fmt, output in [(text_format, folder / "text.log"), ("json", folder / "json.log")]:
        app = Flask(__name__, instance_path=str(folder))

        @app.get("/")
        def index() -> str:
            return "ok"

        reqlog = RequestLog(app, format=fmt, output=str(output), extra_fields=lambda: fields)
        with app.test_client().get("/") as response:
            assert response.status_code == 200
            response.get_data()
        assert reqlog.flush(app, timeout=10)
        reqlog.close(app)
        (line,) = output.read_text("utf-8").splitlines()
        assert line.isascii() and line.isprintable()
        if fmt == "json":
            logged = json.loads(line)
            assert set(fields) <= set(logged)


def test_a_secret_parameter_decoded_by_flask_is_still_recognised(
    views: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    reqlog.init_app(views, format="%{given}n", extra_fields=lambda: {"given": request.args["pw"]})
    get(views.test_client(), "/users/1?pw=caf%C3%A9+%C3%BCber-geheim")
    assert read_log() == ["REDACTED"]
