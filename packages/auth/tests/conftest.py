from __future__ import annotations

import email
import email.policy
import os
import re
import secrets
import socket
import threading
import typing as t
import uuid
from pathlib import Path

import pytest
from flask import Flask, g, jsonify
from flask.testing import FlaskClient
from sqlalchemy import Integer, String, create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

from flask_plug.auth import Auth, User, UserModelMixin

if t.TYPE_CHECKING:
    from email.message import EmailMessage

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORDS = {"ann": "ann-correct-horse-battery", "bob": "bob-staple-lamp-window"}
JSON = {"Accept": "application/json"}
HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class Database:
    """The database of one test: a SQLite file, or a fresh schema in PostgreSQL.

    Every engine made through :meth:`engine` is disposed at teardown.
    """

    def __init__(self, kind: str, url: str, connect_args: dict[str, t.Any]) -> None:
        self.kind = kind
        self.url = url
        self.connect_args = connect_args
        self.engines: list[Engine] = []

    def engine(self) -> Engine:
        engine = create_engine(self.url, connect_args=self.connect_args)
        self.engines.append(engine)
        return engine

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


def postgresql_url() -> str:
    url = make_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def admin_engine(server: str, url: str) -> t.Iterator[Engine]:
    """An engine on a database server; the test is skipped where the server does not
    answer, except in CI, where it fails."""
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except OperationalError as e:
        engine.dispose()
        reason = f"{server} at {make_url(url).render_as_string()} is unreachable: {e.orig}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the {server} tests: {reason}")
        pytest.skip(reason)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_admin() -> t.Iterator[Engine]:
    """An engine on the PostgreSQL server."""
    yield from admin_engine("PostgreSQL", postgresql_url())


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[Database]:
    """An empty database of each kind; for PostgreSQL a schema of its own, dropped after."""
    if request.param == "sqlite":
        database = Database("sqlite", f"sqlite:///{tmp_path / 'auth.db'}", {})
        yield database
        database.dispose()
        return
    admin: Engine = request.getfixturevalue("postgresql_admin")
    schema = f"test_{uuid.uuid4().hex}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database("postgresql", postgresql_url(), {"options": f"-csearch_path={schema}"})
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture
def auth() -> Auth:
    """The Auth object whose decorators guard the test apps' routes."""
    return Auth()


AppFactory = t.Callable[..., Flask]


@pytest.fixture
def make_app(db: Database, auth: Auth, tmp_path: Path) -> AppFactory:
    """Build an app on this test's database (a new engine each time) from config kwargs.

    Routes: ``/`` (public), ``/private`` (login required), ``/admin`` (role admin) and
    ``/api/me`` (login required, the user as JSON). ``engine=`` reuses an engine;
    ``tables=False`` leaves the database empty.
    """

    def make(engine: Engine | None = None, *, tables: bool = True, **config: t.Any) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        app.config.update(SECRET_KEY=secrets.token_urlsafe(40), TESTING=True)
        app.config.update(config)

        @app.get("/")
        def index() -> str:
            return "public page"

        @app.get("/private")
        @auth.login_required
        def private() -> str:
            return f"private page of {g.user.username}"

        @app.get("/admin")
        @auth.roles_required("admin")
        def admin() -> str:
            return "admin page"

        @app.get("/api/me")
        @auth.login_required
        def me() -> t.Any:
            user: User = g.user
            return jsonify(id=user.id, username=user.username, roles=sorted(user.roles))

        auth.init_app(app, engine=engine or db.engine())
        if tables:
            with app.app_context():
                auth.store.create_tables()
        return app

    return make


@pytest.fixture
def app(make_app: AppFactory) -> Flask:
    """The app on SQLite and on PostgreSQL, with the default auth settings."""
    return make_app()


@pytest.fixture
def users(app: Flask, auth: Auth) -> dict[str, User]:
    """``ann`` (role admin) and ``bob`` (no roles); passwords in the ``passwords`` fixture."""
    with app.app_context():
        return {
            "ann": auth.register_user("ann", PASSWORDS["ann"], roles=["admin"]),
            "bob": auth.register_user("bob", PASSWORDS["bob"]),
        }


@pytest.fixture(scope="session")
def passwords() -> dict[str, str]:
    return dict(PASSWORDS)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def get_csrf(client: FlaskClient) -> str:
    """The CSRF token of the client's session, as the login form shows it."""
    response = client.get("/auth/login", headers=HTML)
    assert response.status_code == 200
    match = CSRF_FIELD.search(response.get_data(as_text=True))
    assert match is not None, "the login form has no csrf_token field"
    return match.group(1)


def post_login(
    client: FlaskClient,
    username: str,
    password: str,
    next: str | None = None,
    *,
    remember: bool = False,
    csrf_token: str | None = None,
) -> t.Any:
    """Log in through the form: GET it for the CSRF token, then POST it back."""
    data = {
        "csrf_token": get_csrf(client) if csrf_token is None else csrf_token,
        "username": username,
        "password": password,
    }
    if next is not None:
        data["next"] = next
    if remember:
        data["remember"] = "on"
    return client.post("/auth/login", data=data, headers=HTML)


@pytest.fixture(scope="session")
def csrf() -> t.Callable[[FlaskClient], str]:
    """``csrf(client)``: the CSRF token of that client's session."""
    return get_csrf


@pytest.fixture(scope="session")
def login() -> t.Callable[..., t.Any]:
    """``login(client, username, password, next=None, *, remember=False, csrf_token=None)``."""
    return post_login


@pytest.fixture(scope="session")
def generic_failure() -> str:
    """The one message every failed or throttled login shows."""
    return "Wrong user name or password, or too many attempts. Try again later."


@pytest.fixture(scope="session")
def json_headers() -> dict[str, str]:
    return dict(JSON)


@pytest.fixture(scope="session")
def html_headers() -> dict[str, str]:
    return dict(HTML)


@pytest.fixture
def logged_in(
    app: Flask, users: dict[str, User], login: t.Callable[..., t.Any]
) -> t.Callable[[str], FlaskClient]:
    """``logged_in("ann")``: a new test client with a live login session of that user."""

    def make(username: str) -> FlaskClient:
        client = app.test_client()
        response = login(client, username, PASSWORDS[username])
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make


class MailServer:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), keeping what it receives."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = _free_port()
        self.messages: list[EmailMessage] = []
        self._received = threading.Condition()

    async def handle_DATA(self, server: t.Any, session: t.Any, envelope: t.Any) -> str:  # noqa: N802 - aiosmtpd's hook
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._received:
            self.messages.append(t.cast("EmailMessage", message))
            self._received.notify_all()
        return "250 Message accepted for delivery"

    @property
    def config(self) -> dict[str, t.Any]:
        """The ``AUTH_MAIL_*`` keys that send to this server."""
        return {
            "AUTH_MAIL_SERVER": self.host,
            "AUTH_MAIL_PORT": self.port,
            "AUTH_MAIL_FROM": "Example <no-reply@example.com>",
            "AUTH_MAIL_TIMEOUT": 5,
        }

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(("plain",))
        assert part is not None
        return t.cast(str, part.get_content())

    def link(self, message: EmailMessage) -> str:
        """The one link in a mail."""
        links = re.findall(r"https?://\S+", self.body(message))
        assert len(links) == 1, links
        return t.cast(str, links[0])

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """The first ``count`` messages, once they are in (the browser's requests are
        answered before their mail goes out)."""
        with self._received:
            self._received.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> t.Iterator[MailServer]:
    """A running SMTP server on loopback; ``smtp.messages`` are the mails it received."""
    from aiosmtpd.controller import Controller

    server = MailServer()
    controller = Controller(server, hostname=server.host, port=server.port)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


class Base(DeclarativeBase):
    pass


class Member(UserModelMixin, Base):
    __tablename__ = "members"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))


class Site(t.NamedTuple):
    app: Flask
    auth: Auth


MakeSite = t.Callable[..., Site]


@pytest.fixture(params=["builtin", "model"])
def make_site(
    request: pytest.FixtureRequest, db: Database, tmp_path: Path, smtp: MailServer
) -> MakeSite:
    """An app with password reset on, its users in the built-in table or in ``Member``;
    ``ann`` has the address ann@example.com."""

    def make(**config: t.Any) -> Site:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        app.config.update(
            SECRET_KEY=secrets.token_urlsafe(40),
            TESTING=True,
            TRUSTED_HOSTS=["localhost"],
            AUTH_PASSWORD_RESET=True,
            AUTH_LOGIN_FIELDS=["username", "email"],
            **smtp.config,
        )
        app.config.update(config)
        engine = db.engine()
        if request.param == "builtin":
            auth = Auth(app, engine=engine)
        else:
            Base.metadata.create_all(engine)
            auth = Auth(app, user_model=Member, engine=engine)

        @app.get("/me")
        @auth.login_required
        def me() -> str:
            return auth.store.users.login_name(g.user)

        with app.app_context():
            auth.store.create_tables()
            if app.config["AUTH_LOGIN_FIELDS"][0] == "email":
                # The name column is filled beside the address: through the store.
                auth.store.create_user("ann@example.com", PASSWORDS["ann"], username="ann")
            else:
                auth.register_user("ann", PASSWORDS["ann"], email="ann@example.com")
                auth.register_user("bob", PASSWORDS["bob"])  # no address
        return Site(app, auth)

    return make


@pytest.fixture
def site(make_site: MakeSite) -> Site:
    return make_site()


def submit_form(
    client: FlaskClient,
    path: str,
    data: dict[str, str],
    csrf_from: str | None = None,
    headers: dict[str, str] | None = None,
) -> t.Any:
    """GET ``csrf_from`` (default: ``path``) for the CSRF token, POST ``data`` with it, and
    close the response, as a server does: that is when auth's mail goes out."""
    page = client.get(csrf_from or path, headers=HTML)
    match = CSRF_FIELD.search(page.get_data(as_text=True))
    assert match is not None, page.get_data(as_text=True)
    response = client.post(
        path, data={"csrf_token": match.group(1), **data}, headers=headers or HTML
    )
    response.close()
    return response


@pytest.fixture(scope="session")
def submit() -> t.Callable[..., t.Any]:
    """``submit(client, path, data, csrf_from=None, headers=None)``: post a form of auth."""
    return submit_form
