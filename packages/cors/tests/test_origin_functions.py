"""``origins`` as a function decided at run time (tenants in a database), asked through a
small bounded cache, failing closed."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import typing as t
from datetime import timedelta

import pytest
from flask import Blueprint, Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_plug.cors import CORS, cross_origin
from flask_plug.cors.origins import MAX_ORIGIN_LENGTH, normalise

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

TENANT = "https://acme.example.com"
STRANGER = "https://evil.example.net"


class Tenants:
    """A tenant table, as a database would answer: it counts the questions it is asked."""

    def __init__(self, *origins: str) -> None:
        self.origins = set(origins)
        self.asked: list[str] = []
        self.down = False

    def allows(self, origin: str) -> bool:
        self.asked.append(origin)
        if self.down:
            raise ConnectionError("tenant database unreachable")
        return origin in self.origins


def make_app(tenants: Tenants, **options: t.Any) -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    CORS(app, origins=tenants.allows, allow_credentials=True, **options)
    app.add_url_rule("/notes", "notes", lambda: {"notes": []}, methods=["GET", "PUT"])
    return app


def get(client: FlaskClient, origin: str, path: str = "/notes") -> TestResponse:
    return client.get(path, environ_overrides={"HTTP_ORIGIN": origin})


def preflight(client: FlaskClient, origin: str, path: str = "/notes") -> TestResponse:
    environ = {"HTTP_ORIGIN": origin, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}
    return client.options(path, environ_overrides=environ)


def test_an_allowed_origin_is_echoed_with_credentials_and_vary() -> None:
    client = make_app(Tenants(TENANT)).test_client()
    response = get(client, TENANT)
    assert response.json == {"notes": []}
    assert response.headers["Access-Control-Allow-Origin"] == TENANT
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.headers["Vary"] == "Origin"
    answer = preflight(client, TENANT)
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == TENANT
    assert answer.headers["Vary"].startswith("Origin, ")


def test_a_refused_origin_gets_vary_and_no_cors_headers() -> None:
    client = make_app(Tenants(TENANT)).test_client()
    response = get(client, STRANGER)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["Vary"] == "Origin"
    assert preflight(client, STRANGER).status_code == 403
    no_origin = client.get("/notes")
    assert no_origin.headers["Vary"] == "Origin"


@pytest.mark.parametrize(
    "origin",
    [
        "HTTPS://ACME.example.com",
        "https://acme.example.com:443",
        "https://acme.example.com/",
        "https://acme.example.com\r\nX-Injected: 1",
        "null",
        "acme.example.com",
        "https://" + "a" * MAX_ORIGIN_LENGTH + ".example.com",
    ],
)
def test_the_function_is_never_asked_about_what_is_not_a_serialised_origin(origin: str) -> None:
    tenants = Tenants(TENANT, origin)
    client = make_app(tenants).test_client()
    assert "Access-Control-Allow-Origin" not in get(client, origin).headers
    assert preflight(client, origin).status_code == 403
    assert tenants.asked == []


def test_static_origins_are_matched_before_the_function_is_asked() -> None:
    tenants = Tenants(TENANT)
    app = Flask(__name__)
    CORS(app, origins=["https://app.example.com", tenants.allows])
    app.get("/")(lambda: "ok")
    client = app.test_client()
    assert get(client, "https://app.example.com", "/").headers["Access-Control-Allow-Origin"]
    assert get(client, TENANT, "/").headers["Access-Control-Allow-Origin"] == TENANT
    assert tenants.asked == [TENANT]


def test_answers_are_kept_for_the_ttl() -> None:
    tenants = Tenants(TENANT)
    client = make_app(tenants, origins_cache_ttl=timedelta(milliseconds=200)).test_client()
    for _ in range(3):
        assert get(client, TENANT).headers["Access-Control-Allow-Origin"] == TENANT
        assert "Access-Control-Allow-Origin" not in get(client, STRANGER).headers
    assert tenants.asked == [TENANT, STRANGER]

    # The tenant leaves, another arrives: the cached answers stand until they expire.
    tenants.origins = {STRANGER}
    assert get(client, TENANT).headers["Access-Control-Allow-Origin"] == TENANT
    time.sleep(0.3)
    assert "Access-Control-Allow-Origin" not in get(client, TENANT).headers
    assert get(client, STRANGER).headers["Access-Control-Allow-Origin"] == STRANGER
    assert tenants.asked == [TENANT, STRANGER, TENANT, STRANGER]


def test_random_refused_origins_never_push_out_allowed_ones() -> None:
    tenants = Tenants(TENANT)
    client = make_app(tenants, origins_cache_size=8).test_client()
    get(client, TENANT)
    attack = [f"https://x{i}.evil.test" for i in range(100)]
    for origin in attack:
        get(client, origin)
    assert len(tenants.asked) == 101

    # The tenant's answer survived; only the last 8 refusals are kept.
    assert get(client, TENANT).headers["Access-Control-Allow-Origin"] == TENANT
    get(client, attack[-1])
    assert len(tenants.asked) == 101
    get(client, attack[0])
    assert tenants.asked[-1] == attack[0]


def test_allowed_answers_are_bounded_too_least_recently_used_first() -> None:
    tenants = Tenants(*(f"https://t{i}.example.com" for i in range(3)))
    client = make_app(tenants, origins_cache_size=2).test_client()
    for i in (0, 1, 0, 2):  # t0 used again, so t1 is the one dropped for t2
        get(client, f"https://t{i}.example.com")
    asked = len(tenants.asked)
    get(client, "https://t0.example.com")
    get(client, "https://t2.example.com")
    assert len(tenants.asked) == asked
    get(client, "https://t1.example.com")
    assert tenants.asked[-1] == "https://t1.example.com"


def test_a_cache_size_of_zero_asks_every_request() -> None:
    tenants = Tenants(TENANT)
    client = make_app(tenants, origins_cache_size=0).test_client()
    for _ in range(3):
        assert get(client, TENANT).headers["Access-Control-Allow-Origin"] == TENANT
    assert tenants.asked == [TENANT] * 3


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_failing_function_refuses_logs_once_per_outage_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tenants = Tenants(TENANT)
    tenants.down = True
    client = make_app(tenants).test_client()
    for _ in range(3):
        response = get(client, TENANT)
        assert response.status_code == 200 and response.json == {"notes": []}
        assert "Access-Control-Allow-Origin" not in response.headers
        assert response.headers["Vary"] == "Origin"
        assert preflight(client, TENANT).status_code == 403
    [logged] = errors(caplog)
    assert "Tenants.allows raised ConnectionError: tenant database unreachable" in logged
    assert [r.exc_info is not None for r in caplog.records] == [True]
    assert len(tenants.asked) == 6, "failures are not cached"

    tenants.down = False
    assert get(client, TENANT).headers["Access-Control-Allow-Origin"] == TENANT
    assert errors(caplog)[1:] == [
        "CORS: the origins function Tenants.allows answers again, after 6 failed calls"
    ]

    tenants.down = True
    get(client, STRANGER)
    get(client, "https://other.evil.test")
    assert len(errors(caplog)) == 3, "a new outage is logged once again"


@pytest.mark.parametrize("answer", ["yes", 1, None, [TENANT]])
def test_an_answer_other_than_true_or_false_refuses_and_is_logged(
    answer: object, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask(__name__)
    CORS(app, origins=lambda origin: answer)
    app.get("/")(lambda: "ok")
    client = app.test_client()
    for _ in range(2):
        assert "Access-Control-Allow-Origin" not in get(client, TENANT, "/").headers
    [logged] = errors(caplog)
    assert f"returned {answer!r}, not True or False" in logged


def test_a_function_in_each_scope_and_one_cache_for_the_same_function() -> None:
    tenants = Tenants(TENANT)
    partners = Tenants("https://partner.test")
    app = Flask(__name__)
    cors = CORS(origins=tenants.allows, resources={"/shared/*": {"origins": partners.allows}})
    blueprint = Blueprint("bp", __name__, url_prefix="/bp")
    blueprint.add_url_rule("/thing", "thing", lambda: "thing")
    cors.configure_blueprint(blueprint, origins=partners.allows)
    app.register_blueprint(blueprint)

    @app.get("/view")
    @cross_origin(origins=tenants.allows, allow_credentials=True)
    async def view() -> str:
        await asyncio.sleep(0)
        return "async view"

    app.add_url_rule("/shared/x", "shared", lambda: "shared")
    app.add_url_rule("/plain", "plain", lambda: "plain")
    cors.init_app(app)
    client = app.test_client()

    response = get(client, TENANT, "/view")
    assert response.get_data(as_text=True) == "async view"
    assert response.headers["Access-Control-Allow-Origin"] == TENANT
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert preflight(client, TENANT, "/view").status_code == 403  # GET only: no PUT
    assert get(client, TENANT, "/plain").headers["Access-Control-Allow-Origin"] == TENANT
    assert tenants.asked == [TENANT], "the app and the view share one cache"

    partner = "https://partner.test"
    assert get(client, partner, "/bp/thing").headers["Access-Control-Allow-Origin"] == partner
    assert get(client, partner, "/shared/x").headers["Access-Control-Allow-Origin"] == partner
    assert "Access-Control-Allow-Origin" not in get(client, TENANT, "/bp/thing").headers
    assert partners.asked == [partner, TENANT]


def test_a_coroutine_function_is_refused_at_start_up() -> None:
    async def allows(origin: str) -> bool:
        return True

    with pytest.raises(ValueError, match="CORS_ORIGINS: .* is a coroutine function"):
        CORS(Flask(__name__), origins=allows)
    with pytest.raises(ValueError, match=r"cross_origin\(origins=...\): .* coroutine function"):
        cross_origin(origins=allows)


def test_a_function_with_star_is_refused() -> None:
    with pytest.raises(ValueError, match="'\\*' already allows every origin"):
        CORS(Flask(__name__), origins=["*", Tenants().allows])


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("origins_cache_size", -1, "CORS_ORIGINS_CACHE_SIZE must be a whole number >= 0"),
        ("origins_cache_size", 2.5, "CORS_ORIGINS_CACHE_SIZE must be a whole number >= 0"),
        ("origins_cache_size", True, "CORS_ORIGINS_CACHE_SIZE must be a whole number >= 0"),
        ("origins_cache_size", "10", "CORS_ORIGINS_CACHE_SIZE must be a whole number >= 0"),
        ("origins_cache_ttl", 0, "CORS_ORIGINS_CACHE_TTL must be a number of seconds > 0"),
        ("origins_cache_ttl", -5, "CORS_ORIGINS_CACHE_TTL must be a number of seconds > 0"),
        ("origins_cache_ttl", float("nan"), "CORS_ORIGINS_CACHE_TTL must be"),
        ("origins_cache_ttl", timedelta(0), "CORS_ORIGINS_CACHE_TTL must be"),
        ("origins_cache_ttl", "60", "CORS_ORIGINS_CACHE_TTL must be a number of seconds > 0"),
    ],
)
def test_bad_cache_options_fail_at_start_up_naming_the_key(
    option: str, value: object, message: str
) -> None:
    app = Flask(__name__)
    app.config[f"CORS_{option.upper()}"] = value
    with pytest.raises(ValueError, match=re.escape(message)):
        CORS(app, origins=Tenants().allows)
    with pytest.raises(ValueError, match=re.escape(message)):
        CORS(Flask(__name__), origins=Tenants().allows, **{option: value})


def test_cache_options_from_config() -> None:
    tenants = Tenants(TENANT)
    app = Flask(__name__)
    app.config.update(CORS_ORIGINS=tenants.allows, CORS_ORIGINS_CACHE_SIZE=0)
    CORS(app)
    app.get("/")(lambda: "ok")
    client = app.test_client()
    get(client, TENANT, "/")
    get(client, TENANT, "/")
    assert tenants.asked == [TENANT, TENANT]


# --- whatever Origin a client sends ---------------------------------------------------------

header_values = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=80)
random_origins = (
    header_values
    | st.sampled_from([TENANT, TENANT.upper(), TENANT + "/", TENANT + ":443", "null", STRANGER])
    | st.builds(
        lambda scheme, host, port: f"{scheme}://{host}{port}",
        st.sampled_from(["https", "http", "HTTPS", "ws"]),
        st.from_regex(r"[a-z0-9\-.]{1,20}(\.example\.com)?", fullmatch=True),
        st.sampled_from(["", ":443", ":8443", ":0", ":99999", "/", "\x00"]),
    )
)


class Questioned:
    """Allows origins with an even number of characters, fails on those ending in "7"."""

    def __init__(self) -> None:
        self.answers: dict[str, bool] = {}
        self.not_serialised: list[str] = []  # an assert here would count as a failure

    def __call__(self, origin: str) -> bool:
        if normalise(origin) != origin or len(origin) > MAX_ORIGIN_LENGTH:
            self.not_serialised.append(origin)
        if origin.endswith("7"):
            raise LookupError(origin)
        self.answers[origin] = len(origin) % 2 == 0
        return self.answers[origin]


QUESTIONED = Questioned()
FUZZ_APP = Flask(__name__)
FUZZ_APP.config["PROPAGATE_EXCEPTIONS"] = False
CORS(FUZZ_APP, origins=QUESTIONED, allow_credentials=True, origins_cache_size=16)
FUZZ_APP.add_url_rule("/notes", "notes", lambda: "ok", methods=["GET", "PUT"])


@settings(max_examples=300, deadline=None)
@given(origin=random_origins, path=st.sampled_from(["/notes", "/missing"]))
def test_any_origin_header(origin: str, path: str) -> None:
    client = FUZZ_APP.test_client()
    for response in (preflight(client, origin, path), get(client, origin, path)):
        assert response.status_code < 500
        assert "origin" in response.headers["Vary"].lower()
        echoed = response.headers.get("Access-Control-Allow-Origin")
        if echoed is not None:
            assert echoed == origin
            assert QUESTIONED.answers[origin] is True
            assert response.headers["Access-Control-Allow-Credentials"] == "true"
        else:
            assert "Access-Control-Allow-Credentials" not in response.headers
    assert QUESTIONED.not_serialised == []
    cache = next(iter(FUZZ_APP.extensions["flask-plug-cors"]._asked.values()))
    assert len(cache.allowed) <= 16 and len(cache.refused) <= 16
