"""``user_or_remote_addr``: the user of Flask-Login, of an app's SQLAlchemy model in
``g.user`` (flask-plug-auth with ``user_model=``), else the address."""

from __future__ import annotations

import secrets
import typing as t
from pathlib import Path

import pytest
from flask import Flask, g, request
from flask_login import LoginManager, UserMixin, login_user
from sqlalchemy import String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_plug.ratelimit import RateLimiter, user_or_remote_addr

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


class Base(DeclarativeBase):
    pass


class Member(Base):
    """An app's own user model whose primary key is not called ``id``."""

    __tablename__ = "members"
    number: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


def codes(client: FlaskClient, path: str, n: int, **kwargs: t.Any) -> list[int]:
    return [client.get(path, **kwargs).status_code for _ in range(n)]


def test_flask_login_users_are_counted_by_get_id() -> None:
    class User(UserMixin):
        def __init__(self, user_id: str) -> None:
            self.id = user_id

    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)
    login = LoginManager(app)
    login.user_loader(User)
    limiter = RateLimiter(app, key_func=user_or_remote_addr)

    @app.post("/login/<name>")
    def log_in(name: str) -> str:
        login_user(User(name))
        return "in"

    @app.get("/key")
    @limiter.limit("2/minute")
    def key() -> str:
        return user_or_remote_addr()

    ann, bob, anonymous = app.test_client(), app.test_client(), app.test_client()
    ann.post("/login/ann")
    bob.post("/login/bob")
    assert ann.get("/key").get_data(as_text=True) == "user:ann"
    assert anonymous.get("/key").get_data(as_text=True) == "addr:127.0.0.1"
    # All three from one address: counted apart.
    assert codes(ann, "/key", 2) == [200, 429]
    assert codes(bob, "/key", 3) == [200, 200, 429]
    assert codes(anonymous, "/key", 2) == [200, 429]


def test_flask_login_imported_but_not_on_this_app_counts_by_address() -> None:
    app = Flask(__name__)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.8"}):
        assert user_or_remote_addr() == "addr:192.0.2.8"


@pytest.fixture
def database(tmp_path: Path) -> t.Iterator[t.Any]:
    engine = create_engine(f"sqlite:///{tmp_path / 'members.db'}")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Member(number=7, name="ann"), Member(number=8, name="bob")])
        session.commit()
    yield engine
    engine.dispose()


def test_an_sqlalchemy_model_in_g_user_is_counted_by_primary_key(database: t.Any) -> None:
    app = Flask(__name__)

    @app.before_request
    def load_member() -> None:
        # A fresh instance per request, as a user loader makes (flask-plug-auth, say).
        name = request.headers.get("X-Member")
        with Session(database, expire_on_commit=False) as session:
            g.user = session.query(Member).filter_by(name=name).one_or_none()

    limiter = RateLimiter(app, key_func=user_or_remote_addr)

    @app.get("/key")
    @limiter.limit("2/minute")
    def key() -> str:
        return user_or_remote_addr()

    client = app.test_client()
    ann = {"headers": {"X-Member": "ann"}}
    assert client.get("/key", **ann).get_data(as_text=True) == "user:7"
    assert codes(client, "/key", 2, **ann) == [200, 429]
    assert codes(client, "/key", 2, headers={"X-Member": "bob"}) == [200, 200]
    assert client.get("/key").get_data(as_text=True) == "addr:127.0.0.1"


@pytest.mark.parametrize(
    ("user", "key"),
    [
        ("ann", "user:ann"),
        (42, "user:42"),
        (type("WithId", (), {"id": 5})(), "user:5"),
        (type("FlaskLoginStyle", (UserMixin,), {"id": "x9"})(), "user:x9"),
        (Member(number=3, name="new"), "addr:192.0.2.1"),  # not in the database yet
        (object(), "addr:192.0.2.1"),  # nothing names it: its repr changes every request
        (UserMixin(), "addr:192.0.2.1"),  # UserMixin.get_id() raises without an id
    ],
)
def test_what_names_a_user(user: object, key: str) -> None:
    app = Flask(__name__)
    with app.test_request_context(environ_base={"REMOTE_ADDR": "192.0.2.1"}):
        g.user = user
        assert user_or_remote_addr() == key
