"""API tokens end with the events that end a user's logins, and can expire."""

from __future__ import annotations

import hashlib
import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask, g, request
from flask.testing import FlaskClient
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    inspect,
    select,
    update,
)

from flask_plug.auth import Auth, User
from flask_plug.auth.models import api_tokens, metadata

Login = t.Callable[..., t.Any]
LoggedIn = t.Callable[[str], FlaskClient]
NEW_PASSWORD = "a-brand-new-password"
HOUR = timedelta(hours=1)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def works(app: Flask, token: str) -> bool:
    status = app.test_client().get("/api/me", headers=bearer(token)).status_code
    assert status in (200, 401)
    return status == 200


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def cli(app: Flask, *args: str, input: str | None = None) -> t.Any:
    return app.test_cli_runner().invoke(args=["auth", *args], input=input)


@pytest.fixture
def tokens(app: Flask, auth: Auth, users: dict[str, User]) -> dict[str, str]:
    """An API token of ann and one of bob."""
    with app.app_context():
        return {name: auth.create_token(user, name="laptop") for name, user in users.items()}


def expire(app: Flask, auth: Auth, token: str) -> None:
    """Move a token's expiry into the past, as time would."""
    with app.app_context(), auth.store.engine.begin() as conn:
        conn.execute(
            update(api_tokens)
            .where(api_tokens.c.token_hash == hashlib.sha256(token.encode()).hexdigest())
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )


# revocation ----------------------------------------------------------------------------


def test_change_password_revokes_the_users_api_tokens(
    app: Flask, auth: Auth, logged_in: LoggedIn, tokens: dict[str, str]
) -> None:
    @app.post("/change-password")
    @auth.login_required
    def change_password() -> str:
        auth.change_password(g.user, NEW_PASSWORD)
        return "changed"

    laptop = logged_in("ann")
    assert laptop.post("/change-password").get_data(as_text=True) == "changed"
    assert not works(app, tokens["ann"])
    assert works(app, tokens["bob"])
    assert laptop.get("/private").status_code == 200  # this session stays


def test_cli_set_password_revokes_the_users_api_tokens(app: Flask, tokens: dict[str, str]) -> None:
    result = cli(app, "set-password", "ann", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "API tokens" in result.output
    assert not works(app, tokens["ann"])
    assert works(app, tokens["bob"])


def test_logout_everywhere_revokes_the_users_api_tokens(
    app: Flask, logged_in: LoggedIn, csrf: t.Callable[[FlaskClient], str], tokens: dict[str, str]
) -> None:
    laptop = logged_in("ann")
    response = laptop.post("/auth/logout-everywhere", data={"csrf_token": csrf(laptop)})
    assert response.status_code == 302
    assert not works(app, tokens["ann"])
    assert works(app, tokens["bob"])
    assert laptop.get("/private").status_code == 200


def test_logout_everywhere_else_from_python_revokes_api_tokens(
    app: Flask, auth: Auth, logged_in: LoggedIn, tokens: dict[str, str]
) -> None:
    @app.post("/panic")
    @auth.login_required
    def panic() -> str:
        auth.logout_everywhere_else()
        return "done"

    assert logged_in("ann").post("/panic").status_code == 200
    assert not works(app, tokens["ann"])
    assert works(app, tokens["bob"])


def test_remember_me_theft_revokes_the_users_api_tokens(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    app = make_app(AUTH_REMEMBER_DAYS=30)
    with app.app_context():
        ann_token = auth.create_token(users["ann"])
        bob_token = auth.create_token(users["bob"])
    victim = app.test_client()
    assert login(victim, "ann", passwords["ann"], remember=True).status_code == 302
    stolen = victim.get_cookie("remember_token").value
    for _ in range(2):  # the thief, then the owner with the same, used-up token
        client = app.test_client()
        client.set_cookie("remember_token", stolen)
        client.get("/api/me", headers={"Accept": "application/json"})
    assert not works(app, ann_token)
    assert works(app, bob_token)


def test_revoked_tokens_are_listed_as_inactive(
    app: Flask, auth: Auth, users: dict[str, User], tokens: dict[str, str]
) -> None:
    with app.app_context():
        auth.change_password(users["ann"], NEW_PASSWORD)
        listed = auth.store.tokens(users["ann"].id)
        assert [(token.name, token.active) for token in listed] == [("laptop", False)]
        assert listed[0].revoked_at is not None


# expiry --------------------------------------------------------------------------------


def test_token_without_a_lifetime_never_expires_by_default(
    app: Flask, auth: Auth, users: dict[str, User], tokens: dict[str, str]
) -> None:
    with app.app_context():
        (listed,) = auth.store.tokens(users["ann"].id)
    assert listed.expires_at is None
    assert listed.active


def test_token_with_a_lifetime_works_until_it_expires(
    app: Flask, auth: Auth, users: dict[str, User]
) -> None:
    with app.app_context():
        token = auth.create_token(users["ann"], "ci", lifetime=HOUR)
        (listed,) = auth.store.tokens(users["ann"].id)
    assert listed.expires_at is not None
    assert listed.expires_at - listed.created_at == HOUR
    assert works(app, token)

    expire(app, auth, token)
    response = app.test_client().get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="app"'
    with app.app_context():
        assert not auth.store.tokens(users["ann"].id)[0].active


def test_lifetime_in_seconds_is_accepted(app: Flask, auth: Auth, users: dict[str, User]) -> None:
    with app.app_context():
        auth.create_token(users["ann"], "ci", lifetime=90)
        (listed,) = auth.store.tokens(users["ann"].id)
    assert listed.expires_at is not None
    assert listed.expires_at - listed.created_at == timedelta(seconds=90)


@pytest.mark.parametrize("lifetime", [0, -1, timedelta(seconds=-5), "1h", True])
def test_bad_lifetime_is_refused(
    app: Flask, auth: Auth, users: dict[str, User], lifetime: t.Any
) -> None:
    with app.app_context():
        with pytest.raises(ValueError, match="lifetime"):
            auth.create_token(users["ann"], "ci", lifetime=lifetime)
        assert auth.store.tokens(users["ann"].id) == []


@pytest.mark.parametrize("name", ["", "x" * 101])
def test_bad_token_name_is_refused_before_the_database(
    app: Flask, auth: Auth, users: dict[str, User], name: str
) -> None:
    with app.app_context():
        with pytest.raises(ValueError, match="token name"):
            auth.create_token(users["ann"], name)
        assert auth.store.tokens(users["ann"].id) == []
    result = cli(app, "create-token", "ann", "--name", name)
    assert result.exit_code == 1
    assert "a token name has 1 to 100 characters" in result.output


@pytest.mark.parametrize("configured", [3600, HOUR])
def test_auth_token_lifetime_is_the_default_lifetime(
    make_app: t.Callable[..., Flask], auth: Auth, users: dict[str, User], configured: t.Any
) -> None:
    app = make_app(AUTH_TOKEN_LIFETIME=configured)
    with app.app_context():
        default = auth.create_token(users["ann"], "default")
        longer = auth.create_token(users["ann"], "longer", lifetime=timedelta(days=2))
        first, second = auth.store.tokens(users["ann"].id)
    assert first.expires_at is not None and first.expires_at - first.created_at == HOUR
    assert second.expires_at is not None
    assert second.expires_at - second.created_at == timedelta(days=2)
    expire(app, auth, default)
    assert not works(app, default)
    assert works(app, longer)


def test_token_lifetime_keyword_wins_over_config(
    make_app: t.Callable[..., Flask], db: t.Any, users: dict[str, User], tmp_path: t.Any
) -> None:
    import secrets

    app = Flask(__name__, instance_path=str(tmp_path / "kw"))
    app.config.update(SECRET_KEY=secrets.token_hex(32), AUTH_TOKEN_LIFETIME=60)
    auth = Auth(app, engine=db.engine(), token_lifetime=HOUR)
    with app.app_context():
        auth.store.create_tables()
        user = auth.register_user("carol", NEW_PASSWORD)
        auth.create_token(user)
        (listed,) = auth.store.tokens(user.id)
    assert listed.expires_at is not None and listed.expires_at - listed.created_at == HOUR


@pytest.mark.parametrize("value", [-1, 0, timedelta(0), timedelta(days=-1), "30 days", True])
@pytest.mark.parametrize("given_as", ["config", "keyword"])
def test_bad_auth_token_lifetime_raises_naming_the_key(
    tmp_path: t.Any, value: t.Any, given_as: str
) -> None:
    import secrets

    from sqlalchemy import create_engine

    app = Flask(__name__, instance_path=str(tmp_path))
    app.config.update(SECRET_KEY=secrets.token_hex(32))
    options = {"token_lifetime": value} if given_as == "keyword" else {}
    if given_as == "config":
        app.config["AUTH_TOKEN_LIFETIME"] = value
    with pytest.raises(ValueError, match="^AUTH_TOKEN_LIFETIME must be"):
        Auth(engine=create_engine("sqlite://"), **options).init_app(app)


def test_expired_tokens_are_purged(
    app: Flask, auth: Auth, users: dict[str, User], tokens: dict[str, str]
) -> None:
    with app.app_context():
        expiring = auth.create_token(users["ann"], "ci", lifetime=HOUR)
        auth.create_token(users["ann"], "later", lifetime=HOUR)
    expire(app, auth, expiring)
    result = cli(app, "purge")
    assert result.exit_code == 0, result.output
    assert result.output == "removed 1 expired rows\n"
    with app.app_context():
        names = [token.name for token in auth.store.tokens(users["ann"].id)]
    assert names == ["laptop", "later"]
    assert works(app, tokens["ann"])


def test_expired_tokens_are_purged_at_login(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    logged_in: LoggedIn,
) -> None:
    with app.app_context():
        token = auth.create_token(users["ann"], "ci", lifetime=HOUR)
    expire(app, auth, token)
    logged_in("bob")
    with app.app_context(), auth.store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(api_tokens)) == 0


# fresh password ------------------------------------------------------------------------


@pytest.fixture
def token_page(app: Flask, auth: Auth) -> Flask:
    """``POST /tokens`` creates a token for the logged-in user, asking their password."""
    from flask_plug.auth import WrongPassword

    @app.post("/tokens")
    @auth.login_required
    def create() -> t.Any:
        try:
            token = auth.create_token(g.user, "page", password=request.form["password"])
        except WrongPassword as e:
            headers = {} if e.retry_after is None else {"Retry-After": str(int(e.retry_after))}
            return {"error": str(e)}, 429 if e.retry_after else 403, headers
        return {"token": token}

    return app


def test_create_token_with_the_right_password_gives_a_token(
    token_page: Flask, logged_in: LoggedIn, passwords: dict[str, str]
) -> None:
    response = logged_in("ann").post("/tokens", data={"password": passwords["ann"]})
    assert response.status_code == 200
    assert works(token_page, response.get_json()["token"])


def test_create_token_with_a_wrong_password_gives_none(
    token_page: Flask, auth: Auth, users: dict[str, User], logged_in: LoggedIn
) -> None:
    ann = logged_in("ann")
    # bob's password is not ann's
    for password in ("wrong-password-123", "bob-staple-lamp-window", ""):
        assert ann.post("/tokens", data={"password": password}).status_code == 403
    with token_page.app_context():
        assert auth.store.tokens(users["ann"].id) == []


def test_wrong_passwords_at_token_creation_count_towards_the_lockout(
    token_page: Flask,
    logged_in: LoggedIn,
    login: Login,
    passwords: dict[str, str],
) -> None:
    ann = logged_in("ann")  # AUTH_MAX_FAILURES is 5
    for _ in range(5):
        assert ann.post("/tokens", data={"password": "wrong-password-123"}).status_code == 403
    response = ann.post("/tokens", data={"password": passwords["ann"]})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) >= 1
    assert login(token_page.test_client(), "ann", passwords["ann"]).status_code == 429


def test_create_token_password_outside_a_request(
    app: Flask, auth: Auth, users: dict[str, User], passwords: dict[str, str]
) -> None:
    from flask_plug.auth import WrongPassword

    with app.app_context():
        assert auth.create_token(users["ann"], password=passwords["ann"]).startswith("fpa_")
        with pytest.raises(WrongPassword):
            auth.create_token(users["ann"], password=passwords["bob"])
        assert len(auth.store.tokens(users["ann"].id)) == 1


# command line --------------------------------------------------------------------------


def test_cli_create_token_with_lifetime_and_list_tokens(
    app: Flask, auth: Auth, users: dict[str, User]
) -> None:
    created = cli(app, "create-token", "ann", "--name", "deploy", "--lifetime", "2h")
    assert created.exit_code == 0, created.output
    assert "expires " in created.output.splitlines()[0]
    forever = cli(app, "create-token", "ann", "--name", "forever")
    assert forever.exit_code == 0, forever.output
    assert "never expires" in forever.output.splitlines()[0]
    with app.app_context():
        deploy, _ = auth.store.tokens(users["ann"].id)
    assert deploy.expires_at is not None
    assert deploy.expires_at - deploy.created_at == timedelta(hours=2)

    listed = cli(app, "list-tokens", "ann")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert len(lines) == 2
    expires = deploy.expires_at.strftime("%Y-%m-%d %H:%M:%S")
    assert lines[0].split()[:2] == [str(deploy.id), "deploy"]
    assert f"expires {expires}" in lines[0] and lines[0].endswith("active")
    assert "never expires" in lines[1] and lines[1].endswith("active")

    cli(app, "revoke-token", str(deploy.id))
    assert cli(app, "list-tokens", "ann").output.splitlines()[0].endswith("revoked")


@pytest.mark.parametrize("lifetime", ["0", "-5", "soon", "1y", "3600"])
def test_cli_create_token_lifetime_forms(
    app: Flask, auth: Auth, users: dict[str, User], lifetime: str
) -> None:
    result = cli(app, "create-token", "ann", "--lifetime", lifetime)
    if lifetime == "3600":  # plain seconds
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2
    assert "--lifetime" in result.output
    with app.app_context():
        assert auth.store.tokens(users["ann"].id) == []


def test_cli_list_tokens_of_unknown_user_is_an_error(app: Flask) -> None:
    result = cli(app, "list-tokens", "nobody")
    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output


# upgrading a 0.1 database --------------------------------------------------------------


def test_create_tables_adds_the_expiry_column_to_a_0_1_database(
    make_app: t.Callable[..., Flask], auth: Auth, db: t.Any
) -> None:
    engine = db.engine()
    app = make_app(engine, tables=False)
    # Every table as now, but API tokens as 0.1 made them.
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
    )
    old.create_all(engine)
    old_token = "fpa_made-by-version-0.1"
    with app.app_context():
        user = auth.register_user("ann", NEW_PASSWORD)
        with engine.begin() as conn:
            conn.execute(
                insert(old.tables["auth_api_tokens"]).values(
                    token_hash=hashlib.sha256(old_token.encode()).hexdigest(),
                    user_id=user.id,
                    name="old",
                    created_at=utcnow(),
                )
            )
    assert cli(app, "init-db").exit_code == 0
    assert cli(app, "init-db").exit_code == 0  # twice: the column is there now
    columns = {c["name"] for c in inspect(engine).get_columns("auth_api_tokens")}
    assert "expires_at" in columns
    assert works(app, old_token)  # 0.1 tokens never expire
    with app.app_context():
        new = auth.create_token(user, "new", lifetime=HOUR)
    assert works(app, new)
    expire(app, auth, new)
    assert not works(app, new)
    assert works(app, old_token)
