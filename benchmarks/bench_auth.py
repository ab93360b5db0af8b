"""flask-plug-auth against bare Flask and Flask-Login, plus what a password check costs.

Three requests: a JSON route that never touches the user (what registering the extension
costs every request), and a logged-in request to a login-required route, replaying a
session cookie obtained by logging in once through each extension, twice: with users in
a table read with SQLAlchemy Core (ours: the built-in table, the server-side login session
joined to its user; Flask-Login's user_loader selects the user by id), and with the app's
own Flask-SQLAlchemy ``db.Model`` (ours: ``user_model=User, session=db.session``;
Flask-Login's user_loader: ``db.session.get(User, id)``, as its users write it). Each reads
its own SQLite file.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import typing as t
from pathlib import Path
from time import perf_counter_ns

import flask_login
from flask import Flask, g
from flask_sqlalchemy import SQLAlchemy
from harness import Result, Variant, measure
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.test import EnvironBuilder

from flask_plug.auth import Auth, UserModelMixin, passwords

PAYLOAD = {"id": 1, "title": "hello", "tags": ["a", "b"]}
USERNAME = "ada"
PASSWORD = "correct horse battery staple"
# Same client for the one login and every measured request: Flask-Login's session
# protection compares a hash of the address and User-Agent with the one kept at login.
HEADERS = (("User-Agent", "bench/1.0"),)

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from sqlalchemy.engine import Engine

peer_metadata = MetaData()
peer_users = Table(
    "users",
    peer_metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
)


class PeerUser(flask_login.UserMixin):  # type: ignore[misc]
    def __init__(self, id: int, username: str) -> None:
        self.id = id
        self.username = username


def _flask(name: str) -> Flask:
    app = Flask(name)
    # What a production app sets (flask-plug-auth logs a warning otherwise).
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    return app


def _bare() -> Flask:
    bare = _flask("bare")
    bare.add_url_rule("/", "index", lambda: PAYLOAD)
    bare.add_url_rule("/private", "private", lambda: {"user": USERNAME})
    return bare


def _ours(folder: Path) -> tuple[Flask, Auth]:
    ours = _flask("ours")
    ours.config["AUTH_DATABASE_URI"] = f"sqlite:///{folder / 'ours.db'}"
    auth = Auth(ours)
    ours.get("/")(lambda: PAYLOAD)
    _routes_of_ours(ours, auth)
    with ours.app_context():
        auth.store.create_tables()
        auth.register_user(USERNAME, PASSWORD)
    return ours, auth


def _routes_of_ours(app: Flask, auth: Auth) -> None:
    @app.get("/private")
    @auth.login_required
    def private() -> dict[str, str]:
        return {"user": g.user.username}

    @app.post("/login-once")
    def login_once() -> str:
        user = auth.check_credentials(USERNAME, PASSWORD)
        assert user is not None
        auth.login_user(user)
        return "ok"


def _peer(folder: Path) -> tuple[Flask, Engine]:
    peer = _flask("peer")
    engine = create_engine(f"sqlite:///{folder / 'peer.db'}")
    peer_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(peer_users).values(
                username=USERNAME, password_hash=generate_password_hash(PASSWORD)
            )
        )
    manager = flask_login.LoginManager(peer)

    @manager.user_loader
    def load_user(user_id: str) -> PeerUser | None:
        with engine.connect() as conn:
            row = conn.execute(select(peer_users).where(peer_users.c.id == int(user_id))).first()
        return None if row is None else PeerUser(row.id, row.username)

    peer.get("/")(lambda: PAYLOAD)

    @peer.get("/private")
    @flask_login.login_required
    def private() -> dict[str, str]:
        return {"user": flask_login.current_user.username}

    @peer.post("/login-once")
    def login_once() -> str:
        with engine.connect() as conn:
            row = conn.execute(select(peer_users).where(peer_users.c.username == USERNAME)).one()
        assert check_password_hash(row.password_hash, PASSWORD)
        flask_login.login_user(PeerUser(row.id, row.username))
        return "ok"

    return peer, engine


def _model_app(folder: Path, name: str) -> tuple[Flask, SQLAlchemy, type[t.Any]]:
    """An app with a Flask-SQLAlchemy user model, one user in it."""
    app = _flask(name)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{folder / name}.db"
    db = SQLAlchemy(app)

    class User(UserModelMixin, db.Model, flask_login.UserMixin):  # type: ignore[name-defined,misc]
        id: Mapped[int] = mapped_column(primary_key=True)
        username: Mapped[str] = mapped_column(String(150), unique=True)
        display_name: Mapped[str] = mapped_column(String(100), default="")

    with app.app_context():
        db.create_all()
    return app, db, User


def _ours_with_model(folder: Path, *, attach: bool = True) -> tuple[Flask, Auth]:
    """Ours with the model; ``attach``: users in ``db.session``, else detached."""
    app, db, model = _model_app(folder, "ours_model" if attach else "ours_detached")
    if attach:
        auth = Auth(app, user_model=model, session=db.session)
    else:
        with app.app_context():
            auth = Auth(app, user_model=model, engine=db.engine)
    _routes_of_ours(app, auth)
    with app.app_context():
        auth.store.create_tables()
        auth.register_user(USERNAME, PASSWORD)
    return app, auth


def _peer_with_model(folder: Path) -> tuple[Flask, SQLAlchemy]:
    app, db, model = _model_app(folder, "peer_model")
    with app.app_context():
        db.session.add(model(username=USERNAME, password_hash=generate_password_hash(PASSWORD)))
        db.session.commit()
    manager = flask_login.LoginManager(app)

    @manager.user_loader
    def load_user(user_id: str) -> t.Any:
        return db.session.get(model, int(user_id))

    @app.get("/private")
    @flask_login.login_required
    def private() -> dict[str, str]:
        return {"user": flask_login.current_user.username}

    @app.post("/login-once")
    def login_once() -> str:
        user = db.session.scalars(select(model).where(model.username == USERNAME)).one()
        assert check_password_hash(user.password_hash, PASSWORD)
        flask_login.login_user(user)
        return "ok"

    return app, db


def _call(
    app: WSGIApplication, path: str, method: str = "GET", headers: tuple[tuple[str, str], ...] = ()
) -> tuple[str, list[tuple[str, str]], bytes]:
    """One request the way the harness sends it: status, headers, body."""
    environ = EnvironBuilder(
        path=path, method=method, headers=list(headers), base_url="http://127.0.0.1/"
    ).get_environ()
    answer: dict[str, t.Any] = {}

    def start_response(
        status: str, response_headers: list[tuple[str, str]], exc: t.Any = None
    ) -> t.Any:
        answer.update(status=status, headers=response_headers)
        return lambda data: None

    body = app(environ, start_response)
    try:
        data = b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return answer["status"], answer["headers"], data


def _login_cookie(app: Flask) -> tuple[tuple[str, str], ...]:
    """Log in once; the headers of a logged-in request, checked to reach the view."""
    _, response_headers, _ = _call(app, "/login-once", "POST", HEADERS)
    cookie = next(
        value.split(";", 1)[0]
        for name, value in response_headers
        if name.lower() == "set-cookie" and value.startswith("session=")
    )
    headers = (*HEADERS, ("Cookie", cookie))
    status, response_headers, body = _call(app, "/private", headers=headers)
    if not status.startswith("200") or USERNAME.encode() not in body:
        raise RuntimeError(f"{app.name}: the session cookie does not log in: {status} {body!r}")
    if any(name.lower() == "set-cookie" for name, _ in response_headers):
        raise RuntimeError(f"{app.name}: a logged-in request sets a cookie; not the steady state")
    return headers


def password_hashing(repeats: int = 5) -> str:
    """Milliseconds to hash and to verify one password (median of ``repeats``), as Markdown."""
    schemes: list[tuple[str, t.Callable[[str], str], t.Callable[[str, str], bool]]] = [
        (
            "argon2id m=19 MiB t=2 p=1 (flask-plug-auth)",
            passwords.hash_password,
            lambda stored, password: passwords.verify(stored, password),
        ),
        (
            "werkzeug scrypt N=2^15 r=8 p=1 (generate_password_hash default, tutorials)",
            generate_password_hash,
            check_password_hash,
        ),
        (
            "werkzeug pbkdf2:sha256, 1,000,000 iterations (older tutorials)",
            lambda password: generate_password_hash(password, method="pbkdf2:sha256"),
            check_password_hash,
        ),
    ]

    def ms(action: t.Callable[[], object]) -> float:
        times = []
        for _ in range(repeats):
            start = perf_counter_ns()
            action()
            times.append((perf_counter_ns() - start) / 1e6)
        return statistics.median(times)

    lines = [
        f"**password hashing: one hash, one verify (median of {repeats})**",
        "",
        "| scheme | hash (ms) | verify (ms) |",
        "| --- | ---: | ---: |",
    ]
    for label, hash_password, verify in schemes:
        stored = hash_password(PASSWORD)
        hash_ms = ms(lambda hash_password=hash_password: hash_password(PASSWORD))
        verify_ms = ms(lambda verify=verify, stored=stored: verify(stored, PASSWORD))
        lines.append(f"| {label} | {hash_ms:.1f} | {verify_ms:.1f} |")
    return "\n".join(lines)


def run() -> list[tuple[str, list[Result]]]:
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as folder:
        ours, auth = _ours(Path(folder))
        peer, peer_engine = _peer(Path(folder))
        ours_model, auth_model = _ours_with_model(Path(folder))
        ours_detached, auth_detached = _ours_with_model(Path(folder), attach=False)
        peer_model, peer_db = _peer_with_model(Path(folder))
        bare = _bare()
        try:
            untouched = measure(
                [
                    Variant("bare Flask", bare, headers=HEADERS),
                    Variant("flask-plug-auth", ours, headers=HEADERS),
                    Variant("Flask-Login 0.6.3", peer, headers=HEADERS),
                ]
            )
            our_cookie, peer_cookie = _login_cookie(ours), _login_cookie(peer)
            logged_in = measure(
                [
                    Variant("bare Flask", bare, "/private", headers=our_cookie),
                    Variant("flask-plug-auth", ours, "/private", headers=our_cookie),
                    Variant("Flask-Login 0.6.3", peer, "/private", headers=peer_cookie),
                ]
            )
            our_model_cookie, peer_model_cookie = (
                _login_cookie(ours_model),
                _login_cookie(peer_model),
            )
            detached_cookie = _login_cookie(ours_detached)
            with_model = measure(
                [
                    Variant("bare Flask", bare, "/private", headers=our_cookie),
                    Variant(
                        "flask-plug-auth, built-in table", ours, "/private", headers=our_cookie
                    ),
                    Variant(
                        "flask-plug-auth, app model in db.session",
                        ours_model,
                        "/private",
                        headers=our_model_cookie,
                    ),
                    Variant(
                        "flask-plug-auth, app model, detached",
                        ours_detached,
                        "/private",
                        headers=detached_cookie,
                    ),
                    Variant(
                        "Flask-Login 0.6.3, app model",
                        peer_model,
                        "/private",
                        headers=peer_model_cookie,
                    ),
                ]
            )
        finally:
            for app, extension in (
                (ours, auth),
                (ours_model, auth_model),
                (ours_detached, auth_detached),
            ):
                with app.app_context():
                    extension.store.engine.dispose()
            peer_engine.dispose()
            with peer_model.app_context():
                peer_db.engine.dispose()
    print(password_hashing(), end="\n\n")
    return [
        ("auth: JSON route that never touches the user", untouched),
        (
            "auth: logged-in request to a login-required route (session cookie, SQLite user store)",
            logged_in,
        ),
        (
            "auth: the same request with the app's own Flask-SQLAlchemy user model (SQLite)",
            with_model,
        ),
    ]
