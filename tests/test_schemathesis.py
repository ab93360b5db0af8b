"""Schemathesis fuzzes the demo's JSON API, in-process, with the document the demo serves.

Rate limits stay on, as the demo ships them: a 429 is in the document, so it must validate
like any other answer. What the limiter would otherwise hide is kept in view this way:

* Posting notes is limited to 5 a minute per user, by a decorator in views.py; no config key
  changes it (``RATELIMIT_DEFAULT`` does not apply to a view with limits of its own). With
  one token, every post after the fifth is a 429 and the view itself is never fuzzed. So
  the token of each post comes from a pool of users, ``demo`` first, used in turn: none of
  them posts more than a handful of times in a run.
* Requests without a user are limited per address, and schemathesis follows every 2xx of
  an operation that needs a login with probes without (or with bad) credentials. Coming
  from one address, those probes would get 429s instead of the 401s the check expects. So
  each generated request comes from an address of its own (``REMOTE_ADDR`` in the WSGI
  environ: nothing goes over the network).
"""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
import typing as t

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from flask_plug_demo import close_app, create_app
from flask_plug_demo.extensions import auth
from flask_plug_demo.views import NOTES

if t.TYPE_CHECKING:
    from schemathesis.auths import AuthContext

INSTANCE = tempfile.mkdtemp(prefix="flask-plug-demo-schemathesis-")
# The app is made at import, for the document; demo_app() below closes it once the tests
# have run. A run that imports this module but runs none of its tests (-k, --collect-only)
# still removes the folder at exit.
atexit.register(shutil.rmtree, INSTANCE, ignore_errors=True)
APP = create_app({"TESTING": True}, instance_path=INSTANCE)


def _config(*modes: GenerationMode) -> schemathesis.Config:
    config = schemathesis.Config()
    config.projects.default.generation.update(modes=list(modes), max_examples=50)
    return config


SCHEMA = schemathesis.openapi.from_wsgi(
    "/docs/openapi.json",
    APP,
    config=_config(GenerationMode.POSITIVE, GenerationMode.NEGATIVE),
)

POOL_SIZE = 20  # 5 posts each before a 429: far more than a run of 50 examples needs
PASSWORD = "correct horse battery staple"
_tokens: list[str] = []
_turn = itertools.count()
_addresses = itertools.count()


def pool_tokens() -> list[str]:
    """An API token of ``demo`` and of ``POOL_SIZE - 1`` more users, made on first use."""
    if not _tokens:
        with APP.test_request_context():
            [demo] = [u for u in auth.store.list_users() if u.username == "demo"]
            users = [demo] + [
                auth.register_user(f"fuzzer-{n}", PASSWORD) for n in range(1, POOL_SIZE)
            ]
            _tokens.extend(
                auth.create_token(user, name="schemathesis", scopes=["notes:write"])
                for user in users
            )
    return _tokens


def next_address() -> dict[str, dict[str, str]]:
    """Call arguments that make the next request come from a loopback address of its own."""
    n = next(_addresses)
    return {"environ_overrides": {"REMOTE_ADDR": f"127.0.{n // 250}.{n % 250 + 1}"}}


class PoolBearer:
    """Schemathesis' auth for the operations that need a login: the pool's tokens in turn.

    Registered as auth (not as a plain header) so schemathesis knows the credentials are
    real ones: it drops the session cookie it would generate for the other way to log in,
    and its ``ignored_auth`` check probes the operation without them.
    """

    def get(self, case: schemathesis.Case, context: AuthContext) -> str:
        tokens = pool_tokens()
        return tokens[next(_turn) % len(tokens)]

    def set(self, case: schemathesis.Case, data: str, context: AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


# refresh_interval=None: get() for every case, so the tokens take turns.
SCHEMA.auth(refresh_interval=None).apply_to(method="POST")(PoolBearer)


@pytest.fixture(scope="module", autouse=True)
def demo_app() -> t.Iterator[Flask]:
    saved_notes = list(NOTES)  # kept in memory for every app of the process: put them back
    yield APP
    NOTES[:] = saved_notes
    close_app(APP)
    with APP.app_context():
        auth.store.engine.dispose()
    shutil.rmtree(INSTANCE, ignore_errors=True)


def test_the_document_has_the_api_and_only_it() -> None:
    operations = {
        (method.upper(), path)
        for path, item in SCHEMA.raw_schema["paths"].items()
        for method in item
    }
    assert operations == {("GET", "/api/notes"), ("POST", "/api/notes")}


# derandomize: the same examples on every run, so a CI failure can be reproduced.
@SCHEMA.include(method="GET").parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_reading_notes_matches_the_document(case: schemathesis.Case) -> None:
    case.call_and_validate(**next_address())


@SCHEMA.include(method="POST").parametrize()
@settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_posting_notes_matches_the_document(case: schemathesis.Case) -> None:
    case.call_and_validate(**next_address())


@pytest.mark.parametrize(
    "body",
    [{}, {"body": "title=hello", "media_type": "text/plain"}],
    ids=["no body", "text"],
)
def test_posting_without_login_is_answered_as_documented(body: dict[str, t.Any]) -> None:
    case = SCHEMA["/api/notes"]["POST"].Case(**body)
    assert case.call_and_validate(**next_address()).status_code == 401


def test_the_documented_429_of_posting_validates() -> None:
    with APP.test_request_context():
        user = auth.register_user("limited", PASSWORD)
        token = auth.create_token(user, name="schemathesis", scopes=["notes:write"])
        bearer = {"Authorization": f"Bearer {token}"}
    operation = SCHEMA["/api/notes"]["POST"]
    statuses = []
    for n in range(6):
        case = operation.Case(body={"title": f"note {n}"}, media_type="application/json")
        response = case.call_and_validate(headers=bearer, **next_address())
        statuses.append(response.status_code)
    assert statuses == [201] * 5 + [429]


def test_the_posted_note_is_validated_as_documented() -> None:
    # The fuzzing above passes whatever the view answers, if the document allows it: this
    # makes sure the document's body is the one the validator holds requests to.
    schema = SCHEMA.raw_schema["paths"]["/api/notes"]["post"]["requestBody"]
    assert schema["content"]["application/json"]["schema"]["$ref"].endswith("/NewNote")
    assert set(SCHEMA.raw_schema["paths"]["/api/notes"]["post"]["responses"]) >= {
        "201", "400", "401", "415", "422", "429",
    }  # fmt: skip
    with APP.test_request_context():  # a user of its own: 4 posts, under the limit of 5
        user = auth.register_user("validated", PASSWORD)
        token = auth.create_token(user, name="schemathesis", scopes=["notes:write"])
        bearer = {"Authorization": f"Bearer {token}"}
    operation = SCHEMA["/api/notes"]["POST"]
    statuses = []
    for body in [{"title": "x" * 200}, {"title": ""}, {"title": "x" * 201}, {"body": "no title"}]:
        case = operation.Case(body=body, media_type="application/json")
        response = case.call_and_validate(headers=bearer, **next_address())
        statuses.append(response.status_code)
    assert statuses == [201, 422, 422, 422]
