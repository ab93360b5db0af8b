"""API token scopes: what a token may do, on top of what its user may."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import typing as t
from datetime import datetime, timezone

import pytest
from flask import Flask, g, jsonify
from flask.testing import FlaskClient
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    event,
    insert,
    inspect,
)

from flask_plug.auth import Auth, User, current_scopes
from flask_plug.auth.models import api_tokens, metadata

Login = t.Callable[..., t.Any]
JSON = {"Accept": "application/json"}
BOTH = ("notes:read", "notes:write")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(username: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def cli(app: Flask, *args: str) -> t.Any:
    return app.test_cli_runner().invoke(args=["auth", *args])


def add_scoped_routes(app: Flask, auth: Auth) -> Flask:
    """``/scopes`` (what current_scopes() says), ``/notes`` (notes:write), an async one,
    and one that also needs the admin role."""

    @app.get("/scopes")
    @auth.login_required
    def scopes() -> t.Any:
        granted = current_scopes()
        return jsonify(scopes=None if granted is None else sorted(granted))

    @app.post("/notes")
    @auth.scopes_required("notes:write")
    def write_note() -> str:
        return f"written by {g.user.username}"

    @app.post("/async/notes")
    @auth.scopes_required("notes:write")
    async def async_write_note() -> str:
        await asyncio.sleep(0)
        return f"written async by {g.user.username}"

    @app.delete("/notes")
    @auth.roles_required("admin")
    @auth.scopes_required("notes:write", "notes:delete")
    def delete_notes() -> str:
        return "deleted"

    return app


@pytest.fixture
def scoped(app: Flask, auth: Auth, users: dict[str, User]) -> Flask:
    return add_scoped_routes(app, auth)


def token(app: Flask, auth: Auth, user: User, *scopes: str) -> str:
    with app.app_context():
        return auth.create_token(user, "test", scopes=scopes)


# creating tokens with scopes -----------------------------------------------------------


def test_tokens_are_listed_with_their_scopes(
    app: Flask, auth: Auth, users: dict[str, User]
) -> None:
    with app.app_context():
        auth.create_token(users["ann"], "both", scopes=["notes:write", "notes:read", "notes:read"])
        auth.create_token(users["ann"], "none")
        both, none = auth.store.tokens(users["ann"].id)
    assert both.scopes == frozenset(BOTH)
    assert isinstance(both.scopes, frozenset)
    assert none.scopes == frozenset()  # no scopes is none, not all


def test_scopes_are_stored_space_separated(app: Flask, auth: Auth, users: dict[str, User]) -> None:
    with app.app_context():
        auth.create_token(users["ann"], "both", scopes=("notes:write", "notes:read"))
        with auth.store.engine.connect() as conn:
            stored = conn.execute(api_tokens.select()).one().scopes
    assert stored == "notes:read notes:write"


@pytest.mark.parametrize(
    ("scopes", "named"),
    [
        (["notes:read", "notes write"], "'notes write'"),
        (["notes:read", ""], "''"),
        (["notes,read"], "'notes,read'"),
        (["x" * 65], "'" + "x" * 65 + "'"),
        (["nötes"], "'nötes'"),
        ([42], "42"),
        ("notes:read", "'notes:read'"),  # one string is not a list of scopes
    ],
)
def test_bad_scopes_are_refused_naming_them(
    app: Flask, auth: Auth, users: dict[str, User], scopes: t.Any, named: str
) -> None:
    with app.app_context():
        with pytest.raises(ValueError, match="scope") as refused:
            auth.create_token(users["ann"], "bad", scopes=scopes)
        assert named in str(refused.value)
        assert auth.store.tokens(users["ann"].id) == []


# which scopes a request has ------------------------------------------------------------


def test_current_scopes_are_the_tokens_for_token_requests(
    scoped: Flask, auth: Auth, users: dict[str, User]
) -> None:
    client = scoped.test_client()
    both = token(scoped, auth, users["bob"], *BOTH)
    none = token(scoped, auth, users["bob"])
    assert client.get("/scopes", headers=bearer(both)).get_json() == {"scopes": sorted(BOTH)}
    assert client.get("/scopes", headers=bearer(none)).get_json() == {"scopes": []}


def test_current_scopes_is_none_for_the_users_own_credentials(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    login: Login,
    passwords: dict[str, str],
) -> None:
    app = add_scoped_routes(make_app(AUTH_API_BASIC=True, AUTH_REMEMBER_DAYS=30), auth)
    with app.app_context():
        auth.register_user("ann", passwords["ann"])
    session = app.test_client()
    assert login(session, "ann", passwords["ann"], remember=True).status_code == 302
    assert session.get("/scopes", headers=JSON).get_json() == {"scopes": None}

    remembered = app.test_client()
    cookie = session.get_cookie("remember_token")
    assert cookie is not None
    remembered.set_cookie("remember_token", cookie.value)
    assert remembered.get("/scopes", headers=JSON).get_json() == {"scopes": None}

    with_basic = app.test_client().get("/scopes", headers=basic("ann", passwords["ann"]))
    assert with_basic.get_json() == {"scopes": None}


def test_current_scopes_is_none_without_a_login_or_a_request(
    scoped: Flask, auth: Auth, users: dict[str, User]
) -> None:
    @scoped.get("/anyone")
    def anyone() -> t.Any:
        granted = current_scopes()
        return jsonify(scopes=None if granted is None else sorted(granted))

    client = scoped.test_client()
    assert client.get("/anyone").get_json() == {"scopes": None}
    assert client.get("/anyone", headers=bearer("fpa_nonsense")).get_json() == {"scopes": None}
    with scoped.app_context():
        assert current_scopes() is None


def test_a_token_request_makes_one_query_for_user_and_scopes(
    scoped: Flask, auth: Auth, users: dict[str, User]
) -> None:
    both = token(scoped, auth, users["bob"], *BOTH)
    statements: list[str] = []
    with scoped.app_context():
        engine = auth.store.engine

    def count(*args: t.Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        client = scoped.test_client()
        assert client.post("/notes", headers=bearer(both)).status_code == 200
        assert client.get("/scopes", headers=bearer(both)).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2, statements  # one per request


# scopes_required ---------------------------------------------------------------------------


def test_a_token_with_the_scope_passes(scoped: Flask, auth: Auth, users: dict[str, User]) -> None:
    client = scoped.test_client()
    write = token(scoped, auth, users["bob"], "notes:write")
    response = client.post("/notes", headers=bearer(write))
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "written by bob"


@pytest.mark.parametrize("scopes", [(), ("notes:read",), ("notes:writer", "notes")])
def test_a_token_without_the_scope_gets_insufficient_scope(
    scoped: Flask, auth: Auth, users: dict[str, User], scopes: tuple[str, ...]
) -> None:
    lacking = token(scoped, auth, users["bob"], *scopes)
    response = scoped.test_client().post("/notes", headers=bearer(lacking))
    assert response.status_code == 403
    assert response.get_json() == {"error": "insufficient_scope", "scopes": ["notes:write"]}
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="app", error="insufficient_scope", scope="notes:write"'
    )
    assert response.headers["Cache-Control"] == "private, no-store"


def test_session_logins_are_not_limited_by_scopes(
    scoped: Flask, logged_in: t.Callable[[str], FlaskClient]
) -> None:
    bob = logged_in("bob")
    assert bob.post("/notes").status_code == 200
    assert bob.post("/async/notes").get_data(as_text=True) == "written async by bob"


def test_scopes_required_implies_login_required(scoped: Flask) -> None:
    client = scoped.test_client()
    response = client.post("/notes", headers=JSON)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="app"'
    assert client.post("/notes", headers=bearer("fpa_nonsense")).status_code == 401
    browser = client.post("/notes", headers={"Accept": "text/html"})
    assert browser.status_code == 302
    assert "/auth/login" in browser.headers["Location"]


def test_scopes_required_guards_async_views(
    scoped: Flask, auth: Auth, users: dict[str, User]
) -> None:
    client = scoped.test_client()
    read = token(scoped, auth, users["bob"], "notes:read")
    write = token(scoped, auth, users["bob"], "notes:write")
    assert client.post("/async/notes", headers=bearer(read)).status_code == 403
    response = client.post("/async/notes", headers=bearer(write))
    assert response.get_data(as_text=True) == "written async by bob"
    assert client.post("/async/notes", headers=JSON).status_code == 401


def test_scopes_required_stacks_with_roles_required(
    scoped: Flask, auth: Auth, users: dict[str, User], logged_in: t.Callable[[str], FlaskClient]
) -> None:
    client = scoped.test_client()
    everything = ("notes:write", "notes:delete")
    anns = client.delete("/notes", headers=bearer(token(scoped, auth, users["ann"], *everything)))
    assert anns.status_code == 200
    # The role is the user's: a token cannot give what its user lacks.
    bobs = client.delete("/notes", headers=bearer(token(scoped, auth, users["bob"], *everything)))
    assert bobs.status_code == 403
    assert bobs.get_json() != {"error": "insufficient_scope", "scopes": sorted(everything)}
    half = client.delete("/notes", headers=bearer(token(scoped, auth, users["ann"], "notes:write")))
    assert half.status_code == 403
    assert half.get_json() == {"error": "insufficient_scope", "scopes": sorted(everything)}
    assert 'scope="notes:delete notes:write"' in half.headers["WWW-Authenticate"]
    assert logged_in("ann").delete("/notes").status_code == 200
    assert logged_in("bob").delete("/notes").status_code == 403


def test_stacked_scopes_are_all_needed_and_listed(
    app: Flask, auth: Auth, users: dict[str, User]
) -> None:
    @app.put("/both")
    @auth.scopes_required("notes:write")
    @auth.scopes_required("notes:read")
    def both() -> str:
        return "both"

    client = app.test_client()
    one = client.put("/both", headers=bearer(token(app, auth, users["bob"], "notes:read")))
    assert one.status_code == 403
    assert one.get_json()["scopes"] == sorted(BOTH)
    both_scopes = token(app, auth, users["bob"], *BOTH)
    assert client.put("/both", headers=bearer(both_scopes)).status_code == 200


def test_scopes_are_recorded_in_the_view_metadata(auth: Auth) -> None:
    @auth.roles_required("admin")
    @auth.scopes_required("notes:write")
    @auth.scopes_required("notes:read", "notes:write")
    def view() -> str:
        return ""

    assert view.__flask_plug__["auth"] == {  # type: ignore[attr-defined]
        "login_required": True,
        "roles": ["admin"],
        "scopes": ["notes:read", "notes:write"],
    }

    @auth.login_required
    def plain() -> str:
        return ""

    assert plain.__flask_plug__["auth"]["scopes"] == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("scopes", [(), ("notes write",), ("notes:read,notes:write",), ("",)])
def test_scopes_required_refuses_bad_scope_names(auth: Auth, scopes: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="scope"):
        auth.scopes_required(*scopes)


# command line ------------------------------------------------------------------------------


def test_cli_creates_and_lists_tokens_with_scopes(
    scoped: Flask, auth: Auth, users: dict[str, User]
) -> None:
    created = cli(scoped, "create-token", "bob", "--name", "sync", "--scope", "notes:read",
                  "--scope", "notes:write")  # fmt: skip
    assert created.exit_code == 0, created.output
    header, secret = created.output.strip().splitlines()
    assert "notes:read notes:write" in header
    assert scoped.test_client().post("/notes", headers=bearer(secret)).status_code == 200
    plain = cli(scoped, "create-token", "bob", "--name", "plain")
    assert plain.exit_code == 0, plain.output
    assert "no scopes" in plain.output.splitlines()[0]

    listed = cli(scoped, "list-tokens", "bob")
    assert listed.exit_code == 0, listed.output
    sync, unscoped = listed.output.splitlines()
    assert sync.split()[:2] == [header.split()[1], "sync"]
    assert "scopes notes:read notes:write" in sync and sync.endswith("active")
    assert "no scopes" in unscoped and unscoped.endswith("active")


def test_cli_refuses_a_bad_scope(app: Flask, auth: Auth, users: dict[str, User]) -> None:
    result = cli(app, "create-token", "bob", "--scope", "notes write")
    assert result.exit_code == 1
    assert "'notes write'" in result.output
    with app.app_context():
        assert auth.store.tokens(users["bob"].id) == []


# upgrading a database made before scopes ---------------------------------------------------


def test_create_tables_adds_the_scopes_column_and_old_tokens_keep_working(
    make_app: t.Callable[..., Flask], auth: Auth, db: t.Any, passwords: dict[str, str]
) -> None:
    engine = db.engine()
    app = add_scoped_routes(make_app(engine, tables=False), auth)
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t is not api_tokens])
    old = MetaData()
    Table("auth_users", old, autoload_with=engine)
    Table(
        "auth_api_tokens",
        old,
        Column("id", Integer, primary_key=True),
        Column("token_hash", String(64), nullable=False, unique=True),
        Column("user_id", Integer, ForeignKey("auth_users.id", ondelete="CASCADE"), index=True),
        Column("name", String(100), nullable=False),
        Column("created_at", DateTime(), nullable=False),
        Column("revoked_at", DateTime(), nullable=True),
        Column("expires_at", DateTime(), nullable=True),
    )
    old.create_all(engine)
    old_token = "fpa_made-before-scopes"
    with app.app_context():
        user = auth.register_user("ann", passwords["ann"])
        with engine.begin() as conn:
            conn.execute(
                insert(old.tables["auth_api_tokens"]).values(
                    token_hash=hashlib.sha256(old_token.encode()).hexdigest(),
                    user_id=user.id,
                    name="old",
                    created_at=datetime.now(timezone.utc).replace(tzinfo=None),
                )
            )
    assert cli(app, "init-db").exit_code == 0
    assert cli(app, "init-db").exit_code == 0  # twice: the column is there now
    assert "scopes" in {c["name"] for c in inspect(engine).get_columns("auth_api_tokens")}

    client = app.test_client()
    assert client.get("/scopes", headers=bearer(old_token)).get_json() == {"scopes": []}
    assert client.post("/notes", headers=bearer(old_token)).status_code == 403
    with app.app_context():
        (listed,) = auth.store.tokens(user.id)
        assert listed.scopes == frozenset()
        new = auth.create_token(user, "new", scopes=["notes:write"])
    assert client.post("/notes", headers=bearer(new)).status_code == 200
