"""The ``__flask_plug__`` view metadata contract (docs/development.md, "View metadata"):
every package's decorators leave their entry under their own key, in any order, without
touching another package's entry or a dict another view shares, and every reader still
sees what it needs, through real requests.
"""

from __future__ import annotations

import itertools
import secrets
import typing as t
from pathlib import Path

import pytest
from flask import Blueprint, Flask

from flask_plug.apidocs import APIDocs
from flask_plug.auth import Auth
from flask_plug.cors import CORS, cross_origin
from flask_plug.ratelimit import LimitSpec, RateLimiter

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

FRONT_END = "https://front.example"
LIMIT = "4 per 1 minute"
PACKAGES = ["apidocs", "auth", "cors", "ratelimit"]

View = t.Callable[..., t.Any]
Producer = t.Callable[[View], View]
MakeSite = t.Callable[..., "Site"]


class Site(t.NamedTuple):
    app: Flask
    client: FlaskClient
    auth: Auth
    limiter: RateLimiter
    apidocs: APIDocs
    cors: CORS
    tokens: dict[str, str]
    """An API token per user: ``"reader"`` (no role) and ``"editor"``."""


def make_site(database: Path, build: t.Callable[[Site], None] | None) -> Site:
    """An app with all four extensions; ``build(site)`` adds views, then the users and
    their tokens are made (no ``build``, no users: for tests of the decorators alone)."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=secrets.token_hex(32), AUTH_DATABASE_URI=f"sqlite:///{database}")
    site = Site(app, app.test_client(), Auth(app), RateLimiter(app), APIDocs(app), CORS(app), {})
    if build is None:
        return site
    build(site)
    with app.app_context():
        site.auth.store.create_tables()
        site.auth.register_user("reader", "correct horse battery staple")
        site.auth.register_user("editor", "correct horse battery staple", roles=["editor"])
        for user in site.auth.store.list_users():
            with app.test_request_context():
                site.tokens[user.username] = site.auth.create_token(user, name="tests")
    return site


@pytest.fixture
def sites(tmp_path: Path) -> t.Iterator[MakeSite]:
    made: list[Site] = []

    def make(build: t.Callable[[Site], None] | None = None) -> Site:
        made.append(make_site(tmp_path / f"auth-{len(made)}.db", build))
        return made[-1]

    yield make
    for site in made:
        with site.app.app_context():
            site.auth.store.engine.dispose()


def producers(site: Site) -> dict[str, Producer]:
    """One decorator per package, each setting what the consumers are checked for."""
    return {
        "apidocs": site.apidocs.doc(summary="List the things.", responses={404: "No thing."}),
        "auth": site.auth.roles_required("editor"),
        "cors": cross_origin(origins=[FRONT_END], allow_headers=["authorization"]),
        "ratelimit": site.limiter.limit(LIMIT),
    }


THINGS = {"things": [1, 2]}


def new_view() -> View:
    """A view function of its own: metadata set on it ends with the test."""

    def things() -> dict[str, list[int]]:
        return THINGS

    return things


def assert_entry_types(metadata: dict[str, t.Any]) -> None:
    """Each package's entry has the documented types."""
    assert isinstance(metadata, dict)
    docs = metadata["apidocs"]
    assert isinstance(docs, dict) and docs["summary"] == "List the things."
    assert docs["responses"] == {404: "No thing."}
    assert metadata["auth"] == {"login_required": True, "roles": ["editor"], "scopes": []}
    cors = metadata["cors"]
    assert isinstance(cors, dict) and cors["origins"] == [FRONT_END]
    ratelimit = metadata["ratelimit"]
    assert ratelimit["limits"] == [LIMIT]
    [spec] = ratelimit["specs"]
    assert isinstance(spec, LimitSpec)
    assert not ratelimit.get("exempt", False)


ORDERS = list(itertools.permutations(PACKAGES))


@pytest.mark.parametrize("order", ORDERS, ids="-".join)
def test_every_entry_survives_the_others_in_any_order(
    sites: MakeSite, order: tuple[str, ...]
) -> None:
    site = sites()
    view = new_view()
    decorated = view
    by_package = producers(site)
    for package in order:
        before = getattr(decorated, "__flask_plug__", {})
        frozen = {key: dict(value) for key, value in before.items()}
        decorated = by_package[package](decorated)
        # The dict the view had is left as it was: it may be another view's too.
        assert {key: dict(value) for key, value in before.items()} == frozen
        after = decorated.__flask_plug__
        assert set(after) == set(before) | {package}
        for key in before:
            assert after[key] == before[key], f"{package} changed the {key} entry"
    assert_entry_types(decorated.__flask_plug__)
    # The undecorated function keeps no more than what was set on it (auth wraps it).
    assert set(getattr(view, "__flask_plug__", {})) <= set(order[: order.index("auth")])


@pytest.mark.parametrize("package", PACKAGES)
def test_a_dict_shared_by_two_views_is_never_changed(sites: MakeSite, package: str) -> None:
    """``functools.wraps`` (auth's wrapper, any app's own) copies the attribute, so two
    views can hold one dict: a writer sets a new one on its view."""
    site = sites()
    first, second = new_view(), new_view()
    shared = {"someone": {"else": True}}
    first.__flask_plug__ = shared  # type: ignore[attr-defined]
    second.__flask_plug__ = shared  # type: ignore[attr-defined]
    decorated = producers(site)[package](second)
    assert shared == {"someone": {"else": True}}
    assert first.__flask_plug__ is shared  # type: ignore[attr-defined]
    assert set(decorated.__flask_plug__) == {"someone", package}
    assert decorated.__flask_plug__["someone"] is shared["someone"]


def register(order: tuple[str, ...]) -> t.Callable[[Site], None]:
    """``GET /api/things``, decorated by every producer in ``order`` (innermost first)."""

    def build(site: Site) -> None:
        view = new_view()
        for package in order:
            view = producers(site)[package](view)
        site.app.add_url_rule("/api/things", "things", view)

    return build


# Each package first once and last once.
CONSUMER_ORDERS = [tuple(PACKAGES[i:] + PACKAGES[:i]) for i in range(4)] + [
    tuple(reversed(PACKAGES[i:] + PACKAGES[:i])) for i in range(4)
]


@pytest.mark.parametrize("order", CONSUMER_ORDERS, ids="-".join)
def test_every_reader_sees_what_it_needs(sites: MakeSite, order: tuple[str, ...]) -> None:
    site = sites(register(order))
    client = site.client
    assert_entry_types(site.app.view_functions["things"].__flask_plug__)

    # apidocs: the document has the view's own texts, auth's 401/403 and ratelimit's 429.
    document = client.get("/docs/openapi.json").json
    assert document is not None
    operation = document["paths"]["/api/things"]["get"]
    assert operation["summary"] == "List the things."
    assert {"200", "401", "403", "404", "429"} <= set(operation["responses"])
    assert LIMIT in operation["responses"]["429"]["description"]
    assert operation["security"] and "editor" in operation["description"]

    # cors: the view's rules answer the preflight and the request itself.
    preflight = client.options(
        "/api/things",
        headers={
            "Origin": FRONT_END,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()

    # auth: the guard, with the role; ratelimit: the view's limit counts every request.
    def get(user: str | None) -> t.Any:
        headers = {"Origin": FRONT_END, "Accept": "application/json"}
        if user is not None:
            headers["Authorization"] = f"Bearer {site.tokens[user]}"
        return client.get("/api/things", headers=headers)

    assert get(None).status_code == 401
    assert get("reader").status_code == 403
    allowed = get("editor")
    assert allowed.status_code == 200 and allowed.json == THINGS
    assert allowed.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert get("editor").status_code == 200
    assert get("editor").status_code == 429


def test_blueprint_entries_apply_to_their_views(
    sites: MakeSite,
) -> None:
    """cors and ratelimit keep entries on blueprints too; a view's own entry wins."""

    def build(site: Site) -> None:
        limited = Blueprint("limited", __name__, url_prefix="/limited")
        limited.get("/")(new_view())
        site.cors.configure_blueprint(limited, origins=[FRONT_END])
        site.limiter.limit(LIMIT)(limited)
        site.limiter.limit(LIMIT)(limited)  # the same limit again: kept once
        free = Blueprint("free", __name__, url_prefix="/free")
        free.get("/")(site.apidocs.doc(summary="Free.")(new_view()))
        site.limiter.exempt(free)
        site.cors.configure_blueprint(free, origins=[FRONT_END])
        assert set(limited.__flask_plug__) == set(free.__flask_plug__) == {"cors", "ratelimit"}  # type: ignore[attr-defined]
        assert limited.__flask_plug__["ratelimit"]["limits"] == [LIMIT]  # type: ignore[attr-defined]
        assert free.__flask_plug__["ratelimit"]["exempt"] is True  # type: ignore[attr-defined]
        site.app.register_blueprint(limited)
        site.app.register_blueprint(free)

    site = sites(build)
    client = site.client
    paths = client.get("/docs/openapi.json").json["paths"]  # type: ignore[index]
    assert "429" in paths["/limited/"]["get"]["responses"]
    assert "429" not in paths["/free/"]["get"]["responses"]
    assert paths["/free/"]["get"]["summary"] == "Free."
    for path, statuses in [("/limited/", [200] * 4 + [429]), ("/free/", [200] * 6)]:
        answers = [client.get(path, headers={"Origin": FRONT_END}) for _ in statuses]
        assert [answer.status_code for answer in answers] == statuses, path
        assert answers[0].headers["Access-Control-Allow-Origin"] == FRONT_END
