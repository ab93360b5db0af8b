"""Whatever a client sends: never a 500, never an unlisted origin echoed back, never a
header value that breaks a response, and no memory that grows per request.

Random origins (look-alikes of the listed ones included), methods, paths, request
header lists, other header values and bodies, for preflights and actual requests, under
app rules, path rules, a blueprint's and a view's own rules.
"""

from __future__ import annotations

import gc
import tracemalloc
import typing as t

from flask import Blueprint, Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_plug.cors import CORS, cross_origin

LISTED = {"https://app.example.com", "https://b.example.com:8443", "null"}
PARTNER = "https://partner.test"  # allowed under /partner/* and on the blueprint only
OTHER = "https://other.test"  # allowed on one view only
# Header values as WSGI delivers them: any Latin-1 text, controls included.
header_values = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60)
origins = (
    header_values
    | st.sampled_from(sorted({*LISTED, PARTNER, OTHER, PARTNER + "/", OTHER.upper()}))
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
    cors = CORS(
        origins=[*LISTED, "https://*.example.com"],
        allow_credentials=True,
        resources={"/partner/*": {"origins": [PARTNER], "allow_credentials": False}},
    )
    app.add_url_rule("/items", "items", lambda: "ok", methods=["GET", "PUT", "POST"])
    app.add_url_rule("/partner/data", "partner", lambda: "partner", methods=["GET", "POST"])

    @app.route("/echo", methods=["GET", "POST", "PATCH"])
    @cross_origin(origins=[OTHER])
    def echo() -> dict[str, int]:
        return {"length": len(request.get_data())}

    blueprint = Blueprint("bp", __name__, url_prefix="/bp")
    blueprint.add_url_rule("/thing", "thing", lambda: "thing", methods=["GET", "DELETE"])
    cors.configure_blueprint(blueprint, origins=[PARTNER], methods=["GET"])
    app.register_blueprint(blueprint)
    cors.init_app(app)
    return app


APP = build_app()
PATHS = ["/items", "/partner/data", "/echo", "/bp/thing", "/missing", "/partner/missing"]


def allowed_at(path: str, origin: str, routed: bool = True) -> bool:
    """The rules of ``build_app``, written out by hand. A request no view serves (404,
    405) follows the path and app rules, as documented: it reaches no view's data."""
    if path == "/echo" and routed:
        return origin == OTHER
    if path.startswith("/bp/thing") and routed:
        return origin == PARTNER
    if path.startswith("/partner/"):
        return origin == PARTNER
    return allowed(origin)


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


def check(response: t.Any, origin: str, path: str = "/items") -> None:
    assert response.status_code < 500
    for name, value in response.headers.items():
        # Whatever was echoed (methods, header names) must keep the response well-formed.
        assert all(0x20 <= ord(c) < 0x7F for c in value), (name, value)
    echoed = response.headers.get("Access-Control-Allow-Origin")
    credentials = response.headers.get("Access-Control-Allow-Credentials")
    if echoed is None:
        assert credentials is None
        return
    assert echoed == origin, "only the request's own origin is ever echoed"
    routed = response.status_code not in (404, 405)
    assert allowed_at(path, origin, routed), (path, origin, response.status_code)
    assert "origin" in response.headers.get("Vary", "").lower()
    assert credentials in (None, "true")
    if path.startswith("/partner/"):
        assert credentials is None  # the path rule turns credentials off


@settings(max_examples=400, deadline=None)
@given(
    origin=origins,
    method=methods,
    headers=header_values | st.sampled_from(["content-type, x-token", "authorization", ""]),
    verb=methods,
    path=st.sampled_from(PATHS),
    body=st.binary(max_size=500),
    private_network=st.sampled_from([None, "true", "\x00"]),
)
def test_any_request_headers(
    origin: str,
    method: str,
    headers: str,
    verb: str,
    path: str,
    body: bytes,
    private_network: str | None,
) -> None:
    client = APP.test_client()
    environ = {
        "HTTP_ORIGIN": origin,
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method,
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": headers,
    }
    if private_network is not None:
        environ["HTTP_ACCESS_CONTROL_REQUEST_PRIVATE_NETWORK"] = private_network
    preflight = client.options(path, environ_overrides=environ)
    check(preflight, origin, path)
    actual = client.open(
        path, data=body, environ_overrides={"HTTP_ORIGIN": origin, "REQUEST_METHOD": verb}
    )
    check(actual, origin, path)


@settings(max_examples=200, deadline=None)
@given(path=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=30), origin=origins)
def test_any_path(path: str, origin: str) -> None:
    response = APP.test_client().get(
        "/", environ_overrides={"PATH_INFO": "/" + path, "HTTP_ORIGIN": origin}
    )
    check(response, origin, "/" + path)


def test_random_origins_methods_and_paths_do_not_grow_memory() -> None:
    app = build_app()
    client = app.test_client()

    def attack(start: int, count: int) -> None:
        for i in range(start, start + count):
            origin = f"https://x{i}.evil.test" if i % 2 else f"https://x{i}.example.com"
            path = PATHS[i % len(PATHS)] if i % 3 else f"/random/{i}"
            client.options(
                path,
                environ_overrides={
                    "HTTP_ORIGIN": origin,
                    "HTTP_ACCESS_CONTROL_REQUEST_METHOD": f"M{i}",
                    "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": f"x-h{i}, x-k{i}",
                },
            ).close()
            client.open(
                path, method=f"M{i}" if i % 2 else "GET", headers={"Origin": origin}
            ).close()

    attack(0, 300)
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        attack(10_000, 1500)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"{grown} bytes retained"
