"""Whatever a client sends: never a 500, never an unlisted origin echoed back."""

from __future__ import annotations

import typing as t

from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_plug.cors import CORS

LISTED = {"https://app.example.com", "https://b.example.com:8443", "null"}
# Header values as WSGI delivers them: any Latin-1 text, controls included.
header_values = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60)
origins = (
    header_values
    | st.sampled_from(sorted(LISTED))
    | st.builds(
        lambda sub, tail: f"https://{sub}.example.com{tail}",
        st.from_regex(r"[a-z0-9\-.]{0,12}", fullmatch=True),
        st.sampled_from(["", ".evil.net", ":443", ":8443", "/", "\x00", "%00"]),
    )
)
methods = header_values | st.sampled_from(["GET", "PUT", "DELETE", "patch", "PATCH", "OPTIONS"])


def build_app() -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    CORS(app, origins=[*LISTED, "https://*.example.com"], allow_credentials=True)
    app.route("/items", methods=["GET", "PUT"])(lambda: "ok")
    return app


APP = build_app()


def allowed(origin: str) -> bool:
    if origin in LISTED:
        return True
    prefix, suffix = "https://", ".example.com"
    labels = origin[len(prefix) : -len(suffix)] if origin.endswith(suffix) else ""
    return (
        origin.startswith(prefix)
        and bool(labels)
        and all(
            part
            and part.strip("-") == part
            and all(c.isalnum() or c == "-" for c in part)
            and part.isascii()
            and part.lower() == part
            for part in labels.split(".")
        )
    )


def check(response: t.Any, origin: str) -> None:
    assert response.status_code < 500
    echoed = response.headers.get("Access-Control-Allow-Origin")
    if echoed is not None:
        assert echoed == origin
        assert allowed(origin), origin


@settings(max_examples=400, deadline=None)
@given(origin=origins, method=methods, headers=header_values, verb=st.sampled_from(["GET", "PUT"]))
def test_any_request_headers(origin: str, method: str, headers: str, verb: str) -> None:
    client = APP.test_client()
    preflight = client.options(
        "/items",
        environ_overrides={
            "HTTP_ORIGIN": origin,
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method,
            "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": headers,
        },
    )
    check(preflight, origin)
    actual = client.open("/items", method=verb, environ_overrides={"HTTP_ORIGIN": origin})
    check(actual, origin)


@settings(max_examples=200, deadline=None)
@given(path=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=30), origin=origins)
def test_any_path(path: str, origin: str) -> None:
    response = APP.test_client().get(
        "/", environ_overrides={"PATH_INFO": "/" + path, "HTTP_ORIGIN": origin}
    )
    check(response, origin)
