"""The app's own user model: SQLAlchemy declarative and Flask-SQLAlchemy, on SQLite,
PostgreSQL and MariaDB; login by name or email in any case; inactive users; look-alike
names under MySQL collations."""

from __future__ import annotations

import os
import secrets
import typing as t
import uuid
from pathlib import Path

import pytest
from flask import Flask, g, jsonify
from sqlalchemy import ForeignKey, String, Uuid, create_engine, select, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, synonym
from werkzeug.security import generate_password_hash

from flask_plug.auth import Auth, UserExists, UserModelMixin

from .conftest import HTML, JSON, Database, admin_engine, post_login, postgresql_url

PASSWORD = "ann-correct-horse-battery"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"


def mariadb_url() -> str:
    return os.environ.get("MARIADB_URL", MARIADB_URL)


@pytest.fixture(scope="session")
def mariadb_admin() -> t.Iterator[Engine]:
    """An engine on the MariaDB server."""
    pytest.importorskip("pymysql")
    yield from admin_engine("MariaDB", mariadb_url())


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[Database]:
    """An empty database of each kind: a SQLite file, a PostgreSQL schema, a MariaDB
    database (in its default collation, utf8mb4_general_ci: case-, accent- and
    trailing-space-insensitive)."""
    if request.param == "sqlite":
        database = Database("sqlite", f"sqlite:///{tmp_path / 'app.db'}", {})
        yield database
        database.dispose()
        return
    name = f"test_{uuid.uuid4().hex}"
    if request.param == "postgresql":
        admin: Engine = request.getfixturevalue("postgresql_admin")
        create, drop = f'CREATE SCHEMA "{name}"', f'DROP SCHEMA "{name}" CASCADE'
        database = Database("postgresql", postgresql_url(), {"options": f"-csearch_path={name}"})
    else:
        admin = request.getfixturevalue("mariadb_admin")
        create, drop = f"CREATE DATABASE `{name}`", f"DROP DATABASE `{name}`"
        url = make_url(mariadb_url()).set(database=name)
        database = Database("mariadb", url.render_as_string(hide_password=False), {})
    with admin.begin() as conn:
        conn.execute(text(create))
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(drop))


@pytest.fixture
def engine(database: Database) -> Engine:
    return database.engine()


class Base(DeclarativeBase):
    pass


class Account(UserModelMixin, Base):
    """An app's own user table: more columns than auth needs."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[list[Note]] = relationship(back_populates="author")


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    text: Mapped[str] = mapped_column(String(200))
    author: Mapped[Account] = relationship(back_populates="notes")


def make_app(
    engine: Engine, tmp_path: Path, model: type[t.Any] | None = Account, **config: t.Any
) -> tuple[Flask, Auth]:
    """An app on ``engine`` with ``model`` as its users (``None``: the built-in table)."""
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY=secrets.token_urlsafe(40), TESTING=True, **config)
    auth = Auth()

    @app.get("/me")
    @auth.login_required
    def me() -> t.Any:
        user = g.user
        return jsonify(type=type(user).__name__, id=str(user.id), name=user.username)

    @app.get("/admin")
    @auth.roles_required("admin")
    def admin() -> str:
        return "admin page"

    auth.init_app(app, engine=engine, user_model=model)
    if model is not None:
        model.metadata.create_all(engine)
    with app.app_context():
        auth.store.create_tables()
    return app, auth


def register(app: Flask, auth: Auth, name: str = "Ann", **fields: t.Any) -> t.Any:
    with app.app_context():
        return auth.register_user(name, PASSWORD, roles=["admin"], **fields)


def test_the_app_model_logs_in_and_is_g_user(engine: Engine, tmp_path: Path) -> None:
    app, auth = make_app(engine, tmp_path)
    register(app, auth, email="ann@example.org", display_name="Ann A.")
    client = app.test_client()
    response = post_login(client, "ann", PASSWORD)  # the name in another case
    assert response.status_code == 302
    assert client.get("/me", headers=JSON).json == {"type": "Account", "id": "1", "name": "Ann"}
    assert client.get("/admin", headers=HTML).status_code == 200
    with app.app_context(), app.test_request_context():
        found = auth.check_credentials("ANN", PASSWORD)
        assert isinstance(found, Account) and found.display_name == "Ann A."
        token = auth.create_token(found, "ci")
    api = app.test_client()
    assert api.get("/me", headers={"Authorization": f"Bearer {token}"}).json["name"] == "Ann"


def test_login_by_email_in_any_case(engine: Engine, tmp_path: Path) -> None:
    app, auth = make_app(engine, tmp_path, AUTH_LOGIN_FIELDS=["username", "email"])
    register(app, auth, email="Ann@Example.org")
    client = app.test_client()
    assert post_login(client, " ANN@EXAMPLE.ORG ", PASSWORD).status_code == 302
    assert client.get("/me", headers=JSON).json["name"] == "Ann"


def test_a_name_taken_in_another_case_is_refused(engine: Engine, tmp_path: Path) -> None:
    app, auth = make_app(engine, tmp_path, AUTH_LOGIN_FIELDS=["username", "email"])
    register(app, auth, email="ann@example.org")
    for name, email in (("ANN", None), ("ann ", None), ("bob", "ANN@example.org")):
        with pytest.raises(UserExists):
            register(app, auth, name, email=email)


def test_an_inactive_user_is_refused_at_once(engine: Engine, tmp_path: Path) -> None:
    app, auth = make_app(engine, tmp_path)
    register(app, auth)
    client = app.test_client()
    assert post_login(client, "Ann", PASSWORD).status_code == 302
    with app.app_context(), app.test_request_context():
        token = auth.create_token(auth.check_credentials("Ann", PASSWORD), "ci")
    # The app turns the user off in its own table: nothing of auth's is told.
    with engine.begin() as conn:
        conn.execute(update(Account).values(is_active=False))
    assert client.get("/me", headers=JSON).status_code == 401
    assert (
        app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert post_login(app.test_client(), "Ann", PASSWORD).status_code == 401
    with engine.begin() as conn:
        conn.execute(update(Account).values(is_active=True))
    assert post_login(app.test_client(), "Ann", PASSWORD).status_code == 302


def test_deactivating_ends_sessions_and_tokens_for_good(engine: Engine, tmp_path: Path) -> None:
    app, auth = make_app(engine, tmp_path)
    register(app, auth)
    client = app.test_client()
    post_login(client, "Ann", PASSWORD)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["auth", "deactivate", "ann"])
    assert result.exit_code == 0, result.output
    assert "(inactive)" in runner.invoke(args=["auth", "list-users"]).output
    assert runner.invoke(args=["auth", "activate", "ANN"]).exit_code == 0
    # Active again, but the session ended with the deactivation stays ended.
    assert client.get("/me", headers=JSON).status_code == 401


@pytest.mark.parametrize(
    "look_alike",
    ["ánn", "ÀNN", "ann\u200b", "a\u00adnn"],
    ids=["accent", "accent-case", "zero-width-space", "soft-hyphen"],
)
@pytest.mark.parametrize("model", [None, Account], ids=["built-in", "app-model"])
def test_a_look_alike_name_neither_reaches_the_account_nor_escapes_its_lockout(
    engine: Engine, tmp_path: Path, look_alike: str, model: type[t.Any] | None
) -> None:
    """MySQL's default collations call 'ann' and 'ánn' (and 'ann ') equal, so a lookup by
    the database alone would let a look-alike log in to ann's account, with failures
    counted under another name than ann's lockout counter."""
    app, auth = make_app(engine, tmp_path, model, AUTH_MAX_FAILURES=3)
    register(app, auth, "ann")
    client = app.test_client()
    assert post_login(client, look_alike, PASSWORD).status_code in (401, 400)
    assert client.get("/me", headers=JSON).status_code == 401
    for _ in range(3):
        post_login(client, "ann", "wrong password, guessed")
    # Locked: neither the name nor any look-alike gets in with the right password.
    for name in ("ann", "ANN", " ann", look_alike):
        response = post_login(app.test_client(), name, PASSWORD)
        assert response.status_code in (400, 401, 429), name


def test_an_existing_flask_login_table_moves_over_as_it_is(engine: Engine, tmp_path: Path) -> None:
    """A Flask-Login tutorial's table: Werkzeug hashes in a column of another name, no
    roles, no active flag. No migration: the hash becomes Argon2id at the first login."""

    class LegacyBase(DeclarativeBase):
        pass

    class LegacyUser(LegacyBase):
        __tablename__ = "user"
        id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
        username: Mapped[str] = mapped_column(String(80), unique=True)
        pw_hash: Mapped[str] = mapped_column(String(256))
        password_hash = synonym("pw_hash")

    LegacyBase.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            LegacyUser.__table__.insert().values(
                id=uuid.uuid4(), username="ann", pw_hash=generate_password_hash(PASSWORD)
            )
        )
    app, auth = make_app(engine, tmp_path, model=LegacyUser)
    client = app.test_client()
    assert post_login(client, "Ann", PASSWORD).status_code == 302
    assert client.get("/me", headers=JSON).json["type"] == "LegacyUser"
    assert client.get("/admin", headers=JSON).status_code == 403  # no roles: none held
    with engine.connect() as conn:
        assert conn.scalar(select(LegacyUser.pw_hash)).startswith("$argon2id$")
    assert post_login(app.test_client(), "ann", PASSWORD).status_code == 302


def test_the_cli_works_on_the_app_model(engine: Engine, tmp_path: Path) -> None:
    app, _ = make_app(engine, tmp_path)
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["auth", "create-user", "Ann", "--role", "admin"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert created.exit_code == 0, created.output
    assert "created Ann (admin)" in created.output
    assert "Ann" in runner.invoke(args=["auth", "list-users"]).output
    token = runner.invoke(args=["auth", "create-token", "ann", "--name", "ci"])
    assert token.exit_code == 0, token.output
    bearer = token.output.strip().splitlines()[-1]
    assert (
        app.test_client().get("/me", headers={"Authorization": f"Bearer {bearer}"}).status_code
        == 200
    )
    assert runner.invoke(args=["auth", "delete-user", "ANN", "--yes"]).exit_code == 0
    assert (
        app.test_client().get("/me", headers={"Authorization": f"Bearer {bearer}"}).status_code
        == 401
    )


def test_bad_user_model_settings_fail_at_init_app(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'app.db'}")

    def init(**kwargs: t.Any) -> None:
        app = Flask(__name__, instance_path=str(tmp_path))
        app.config.update(SECRET_KEY=secrets.token_urlsafe(40), TESTING=True)
        app.config.update(kwargs.pop("config", {}))
        Auth(app, engine=engine, **kwargs)

    with pytest.raises(ValueError, match="user_model must be a mapped SQLAlchemy model"):
        init(user_model=dict)
    with pytest.raises(ValueError, match="AUTH_LOGIN_FIELDS: Account.nickname"):
        init(user_model=Account, config={"AUTH_LOGIN_FIELDS": ["nickname"]})
    with pytest.raises(ValueError, match="AUTH_LOGIN_FIELDS must be a list"):
        init(user_model=Account, config={"AUTH_LOGIN_FIELDS": "username"})
    with pytest.raises(ValueError, match="AUTH_LOGIN_FIELDS must name 'username', 'email'"):
        init(config={"AUTH_LOGIN_FIELDS": ["display_name"]})
    with pytest.raises(ValueError, match="give engine= or session="):
        app = Flask(__name__)
        app.config.update(SECRET_KEY=secrets.token_urlsafe(40))
        Auth(app, user_model=Account)


# -- Flask-SQLAlchemy -----------------------------------------------------------------------


@pytest.fixture
def fsqla_app(database: Database, tmp_path: Path) -> t.Iterator[tuple[Flask, Auth, t.Any]]:
    """Flask-SQLAlchemy's ``db.Model`` with the mixin, on the same database kinds."""
    flask_sqlalchemy = pytest.importorskip("flask_sqlalchemy")

    class FBase(DeclarativeBase):
        pass

    db = flask_sqlalchemy.SQLAlchemy(model_class=FBase)

    class User(UserModelMixin, db.Model):  # type: ignore[name-defined,misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        username: Mapped[str] = mapped_column(String(150), unique=True)
        display_name: Mapped[str] = mapped_column(String(100), default="")
        posts: Mapped[list[Post]] = relationship()

    class Post(db.Model):  # type: ignore[name-defined,misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
        title: Mapped[str] = mapped_column(String(100))

    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(40),
        TESTING=True,
        SQLALCHEMY_DATABASE_URI=database.url,
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": database.connect_args},
    )
    db.init_app(app)
    auth = Auth(app, user_model=User, session=db.session)

    @app.get("/me")
    @auth.login_required
    def me() -> t.Any:
        return jsonify(
            name=g.user.username,
            attached=g.user in db.session,
            posts=[post.title for post in g.user.posts],  # a relationship, loaded lazily
        )

    @app.post("/rename")
    @auth.login_required
    def rename() -> str:
        g.user.display_name = "Ann the Second"
        db.session.commit()
        return "renamed"

    with app.app_context():
        db.create_all()
        auth.store.create_tables()
        user = auth.register_user("Ann", PASSWORD)
        db.session.add(Post(user_id=user.id, title="first"))
        db.session.commit()
    yield app, auth, (db, User)
    with app.app_context():
        db.engine.dispose()


def test_flask_sqlalchemy_users_are_in_db_session(fsqla_app: tuple[Flask, Auth, t.Any]) -> None:
    app, _, (db, User) = fsqla_app
    client = app.test_client()
    assert post_login(client, "ann", PASSWORD).status_code == 302
    assert client.get("/me", headers=JSON).json == {
        "name": "Ann",
        "attached": True,
        "posts": ["first"],
    }
    assert client.post("/rename").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User.display_name)) == "Ann the Second"
