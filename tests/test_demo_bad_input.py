"""Bad input to the demo's JSON API: each answers a problem (400 for what is not JSON,
415 for another content type, 422 for JSON of the wrong shape), and nothing a client
manages to store can break a page afterwards.

The malformed chunked body needs a real server (the test client cannot send one): it is
in ``test_production.py``.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_plug_demo import close_app, create_app
from flask_plug_demo.views import NOTES

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


@pytest.fixture(autouse=True)
def keep_notes() -> t.Iterator[None]:
    """The notes are module state shared by every app in the process: put them back."""
    saved = list(NOTES)
    yield
    NOTES[:] = saved


def post(
    client: FlaskClient, token: str, data: bytes | str, content_type: str = "application/json"
) -> t.Any:
    return client.post(
        "/api/notes",
        data=data,
        content_type=content_type,
        headers={"Authorization": f"Bearer {token}"},
    )


def assert_problem(response: t.Any, status: int = 400) -> None:
    assert response.status_code == status, response.data[:500]
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == status
    assert problem["errors"] and all(error["location"] == "body" for error in problem["errors"])


def assert_page_works(client: FlaskClient) -> None:
    for path in ("/", "/api/notes"):
        response = client.get(path)
        assert response.status_code == 200
        response.get_data()  # the body is encoded as it is read


def test_deeply_nested_json_is_a_400(client: FlaskClient, api_token: str) -> None:
    # Far beyond Python's recursion limit, well within the 64 KB a body may have.
    assert_problem(post(client, api_token, "[" * 20_000 + "]" * 20_000))
    assert_problem(post(client, api_token, '{"title": ' + "[" * 20_000 + "]" * 20_000 + "}"))


def test_a_body_beyond_64_kb_is_a_413_unread(client: FlaskClient, api_token: str) -> None:
    response = post(client, api_token, json.dumps({"title": "x", "body": "y" * 70_000}))
    assert response.status_code == 413
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    "note",
    [
        {"title": "\ud800"},
        {"title": "fine", "body": "\udfff"},
        {"title": "a\ud83dz"},  # half of a surrogate pair
    ],
)
def test_a_lone_surrogate_is_a_400_and_never_stored(
    client: FlaskClient, api_token: str, note: dict[str, str]
) -> None:
    # json.dumps escapes it as \ud800: JSON's grammar allows it, but it is no Unicode
    # text, and pydantic's parser refuses it.
    assert_problem(post(client, api_token, json.dumps(note)))
    assert_page_works(client)
    assert not any(n["title"] == note["title"] for n in NOTES)


def test_a_surrogate_pair_is_a_character_and_welcome(client: FlaskClient, api_token: str) -> None:
    response = post(client, api_token, json.dumps({"title": "\U0001f600 ok"}))
    assert response.status_code == 201
    home = client.get("/")
    assert home.status_code == 200
    assert "\U0001f600 ok" in home.get_data(as_text=True)


@pytest.fixture(scope="module")
def unlimited(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[tuple[Flask, str]]:
    """The demo with rate limits off (hypothesis posts hundreds of notes) and a token."""
    from flask_plug_demo.extensions import auth

    instance = tmp_path_factory.mktemp("instance")
    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False}, instance_path=str(instance))
    with app.test_request_context():
        [user] = [u for u in auth.store.list_users() if u.username == "demo"]
        token = auth.create_token(user, name="tests", scopes=["notes:write"])
    yield app, token
    close_app(app)
    assert Path(instance, "access.log").exists()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
NOTE_LIKE = st.fixed_dictionaries(
    {"title": st.text(max_size=300)}, optional={"body": st.text(max_size=300) | JSON}
)
BODIES = (
    st.binary(max_size=2000)
    | JSON.map(lambda value: json.dumps(value).encode())
    | NOTE_LIKE.map(lambda value: json.dumps(value).encode())
    # json.dumps escapes lone surrogates; this is how a client sends the raw text
    | NOTE_LIKE.map(
        lambda value: json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    )
    | st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth)
)
CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "text/plain",
        "",
        "application/x-www-form-urlencoded",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, content_type=CONTENT_TYPES)
def test_no_body_makes_a_500_or_breaks_a_page(
    unlimited: tuple[Flask, str], body: bytes, content_type: str
) -> None:
    app, token = unlimited
    client = app.test_client()
    response = post(client, token, body, content_type)
    assert response.status_code in (201, 400, 415, 422), response.data[:500]
    if response.status_code != 201:
        assert response.mimetype == "application/problem+json"
    assert_page_works(client)
