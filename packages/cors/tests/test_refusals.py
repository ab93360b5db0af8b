"""A refused preflight's 403 says what was refused and what is allowed, in plain text or
problem+json as ``Accept`` prefers; bounded, repeating only validated names, and logged
at DEBUG."""

from __future__ import annotations

import json
import logging
import typing as t

import pytest
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_plug.cors import CORS, cross_origin

if t.TYPE_CHECKING:
    from werkzeug.test import TestResponse

FRONTEND = "https://app.example.com"


def make_app(**options: t.Any) -> Flask:
    app = Flask(__name__)
    CORS(app, origins=[FRONTEND, "https://secret-partner.example.com"], **options)
    app.add_url_rule("/items", "items", lambda: "ok", methods=["GET", "PUT"])
    return app


def preflight(
    app: Flask,
    method: str = "PUT",
    headers: str | None = None,
    accept: str | None = None,
    origin: str = FRONTEND,
) -> TestResponse:
    environ = {"HTTP_ORIGIN": origin, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method}
    if headers is not None:
        environ["HTTP_ACCESS_CONTROL_REQUEST_HEADERS"] = headers
    if accept is not None:
        environ["HTTP_ACCEPT"] = accept
    return app.test_client().options("/items", environ_overrides=environ)


def test_a_refused_method_lists_the_methods_allowed() -> None:
    response = preflight(make_app(), "DELETE")
    assert response.status_code == 403
    assert response.mimetype == "text/plain"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.get_data(as_text=True) == (
        "CORS preflight refused: method DELETE not allowed\nallowed methods: GET, HEAD, PUT\n"
    )
    assert response.headers["Vary"].endswith(", Accept")


def test_a_refused_header_lists_the_headers_allowed() -> None:
    app = make_app(allow_headers=["Content-Type", "X-Token"])
    response = preflight(app, headers="content-type, x-other")
    assert response.get_data(as_text=True) == (
        "CORS preflight refused: header x-other not allowed\n"
        "allowed headers: content-type, x-token\n"
    )


def test_authorization_under_star_says_it_must_be_listed() -> None:
    response = preflight(make_app(), headers="authorization")
    assert response.get_data(as_text=True) == (
        "CORS preflight refused: header authorization must be listed; '*' does not cover it\n"
        "allowed headers: *\n"
    )


def test_methods_are_those_each_view_here_allows() -> None:
    app = make_app(methods=["GET"])
    response = preflight(app, "PUT")
    assert response.get_data(as_text=True).endswith("allowed methods: GET\n")

    app = Flask(__name__)
    cors = CORS(origins=[FRONTEND])
    app.add_url_rule("/mixed", "open", lambda: "ok", methods=["POST"])
    closed = cross_origin(origins=[])(lambda: "closed")
    app.add_url_rule("/mixed", "closed", closed, methods=["GET"])
    app.add_url_rule("/closed", "closed_too", closed, methods=["GET"])
    cors.init_app(app)
    client = app.test_client()
    environ = {"HTTP_ORIGIN": FRONTEND, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "DELETE"}
    response = client.options("/mixed", environ_overrides=environ)
    assert response.get_data(as_text=True).endswith("allowed methods: POST\n")
    response = client.options("/closed", environ_overrides=environ)
    assert response.get_data(as_text=True).endswith("allowed methods: none\n")


@pytest.mark.parametrize(
    "accept", ["application/json", "application/problem+json", "text/plain;q=0.5, */*;q=0.1"]
)
def test_api_clients_get_problem_json(accept: str) -> None:
    app = make_app(allow_headers=["X-Token"])
    response = preflight(app, headers="x-other", accept=accept)
    if accept.startswith("text/plain"):
        assert response.mimetype == "text/plain"
        return
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "CORS preflight refused",
        "status": 403,
        "detail": "header x-other not allowed",
        "refused_header": "x-other",
        "allowed_headers": ["x-token"],
    }


def test_browsers_get_plain_text() -> None:
    response = preflight(make_app(), "DELETE", accept="*/*")
    assert response.mimetype == "text/plain"


def test_a_refused_origin_is_neither_echoed_nor_told_the_allowed_ones() -> None:
    for accept in ("*/*", "application/json"):
        response = preflight(make_app(), origin="https://evil.example.net", accept=accept)
        body = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "origin not allowed" in body
        assert "evil" not in body and "partner" not in body and "app.example" not in body


def test_long_names_and_lists_are_cut() -> None:
    listed = [f"x-header-{i}" for i in range(50)]
    app = make_app(allow_headers=listed)
    long_name = "x-" + "a" * 5000
    text = preflight(app, headers=long_name).get_data(as_text=True)
    assert len(text) < 1500
    assert f"header {long_name[:61]}... not allowed" in text
    assert text.endswith(", ... (20 more)\n")
    problem = preflight(app, headers=long_name, accept="application/json").json
    assert problem is not None
    assert len(problem["refused_header"]) == 64
    assert len(problem["allowed_headers"]) == 31


def test_the_refusal_is_logged_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    app = make_app()
    with caplog.at_level(logging.DEBUG, logger=app.logger.name):
        preflight(app, "DELETE")
    [message] = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert message == (
        "CORS preflight refused: DELETE /items from origin 'https://app.example.com':"
        " method DELETE not allowed; allowed methods: GET, HEAD, PUT (rules from app config)"
    )


tokens = st.from_regex(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,200}", fullmatch=True)
latin1 = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=300)


@settings(max_examples=300, deadline=None)
@given(
    method=tokens | latin1,
    headers=st.lists(tokens, max_size=5).map(", ".join) | latin1,
    accept=st.sampled_from(["*/*", "application/json", "text/plain", "text/html"]) | latin1,
)
def test_any_refusal_body_is_bounded_and_repeats_only_tokens(
    method: str, headers: str, accept: str
) -> None:
    response = preflight(APP, method, headers, accept)
    assert response.status_code in (204, 403)
    if response.status_code == 204:
        return
    body = response.get_data(as_text=True)
    assert len(body) < 1500
    if response.mimetype == "application/problem+json":
        problem = json.loads(body)
        assert problem["status"] == 403
        body = problem["detail"]
    else:
        assert response.mimetype == "text/plain"
    # Whatever the client sent shows up only as a token: no spaces, quotes, markup or
    # control characters of its own.
    for word in body.replace("\n", " ").split(" "):
        assert all(0x21 <= ord(c) < 0x7F for c in word), word
        assert "<" not in word and ">" not in word and '"' not in word


APP = make_app(allow_headers=["Content-Type", "X-Token"])
