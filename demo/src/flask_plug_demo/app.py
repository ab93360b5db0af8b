"""The demo's app factory."""

from __future__ import annotations

import os
import secrets
import sys
import typing as t
from pathlib import Path

import click
from flask import Flask, current_app

from .extensions import apidocs, auth, cors, limiter, reqlog, stats, timer
from .hardening import JSONProvider, ReadableBody
from .instance import create_private_file, instance_secret, make_private_folder, setup_lock
from .views import bp

FRONTEND_ORIGIN = "http://localhost:5000"
"""The demo's front-end origin: open the demo at this address to make cross-origin calls."""

MAX_BODY = 64 * 1024
"""The largest request body the demo reads: a note is at most 2,200 characters, and
Flask answers 413 to a longer declared body without reading any of it."""


def default_instance_path() -> str | None:
    """``DEMO_INSTANCE`` from the environment, else ``demo/instance`` in a clone of the
    repository, else Flask's default."""
    if os.environ.get("DEMO_INSTANCE"):
        return os.environ["DEMO_INSTANCE"]
    demo = Path(__file__).resolve().parents[2]
    return str(demo / "instance") if (demo / "pyproject.toml").is_file() else None


def create_app(
    config: t.Mapping[str, t.Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Build the demo app.

    Defaults need no setup: a secret key, the SQLite user database and the first users
    are created in the instance folder (``demo/instance`` in a clone) on first run.
    ``FLASK_*`` environment variables override the defaults (``FLASK_SECRET_KEY``,
    ``FLASK_TIMER_SPANS=false``), and ``config`` overrides both (tests use it).

    With ``DEMO_INIT`` false (``FLASK_DEMO_INIT=false``) the factory never touches the
    database: the tables and first users are then made once by :func:`init_instance`
    (``flask demo init``, or gunicorn's master in ``hatch run demo:prod``), and workers
    start even while the database is down.
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=instance_path or default_instance_path(),
    )
    app.json = JSONProvider(app)
    app.config.from_mapping(
        DEMO_INIT=True,
        MAX_CONTENT_LENGTH=MAX_BODY,
        # The demo shows its spans; a production app leaves TIMER_SPANS to debug mode.
        TIMER_SPANS=True,
        TIMER_RESPONSE_TIME_HEADER=True,
        # The "front end": the same server under another name is another origin.
        CORS_RESOURCES={
            "/api/*": {
                "origins": [FRONTEND_ORIGIN],
                "expose_headers": ["X-Response-Time"],
                "allow_headers": ["content-type", "authorization"],
                "max_age": 600,
            }
        },
        # Memory storage for the single dev server; production sets a Redis URL.
        RATELIMIT_DEFAULT="300/minute",
        AUTH_REMEMBER_DAYS=14,
        # Opt-in TOTP codes: set up from the Account page; the login then asks for a code.
        AUTH_TWO_FACTOR=True,
        AUTH_TWO_FACTOR_ISSUER="Flask-Plug demo",
        SESSION_COOKIE_SAMESITE="Lax",
        AUTH_DEFAULT_NEXT="/notes",
        # Combined lines in the instance folder, ready for goaccess; production sets
        # FLASK_REQLOG_FORMAT=json and FLASK_REQLOG_OUTPUT=stdout.
        REQLOG_OUTPUT="access.log",
        # The JSON API at /docs; the HTML pages and other extensions' routes stay out.
        APIDOCS_TITLE="Flask-Plug demo notes API",
        APIDOCS_VERSION="1.0.0",
        APIDOCS_DESCRIPTION=(
            "The demo's JSON API. Reading is open; writing needs a login session or an "
            "API token from the Account page (`Authorization: Bearer <token>`)."
        ),
        APIDOCS_EXCLUDE=[
            "auth",
            "flask_plug_stats",
            "demo.home",
            "demo.notes_page",
            "demo.account",
            "demo.admin",
            "demo.cors_demo",
        ],
    )
    app.config.from_prefixed_env()
    if config is not None:
        app.config.update(config)
    if app.config["REQLOG_OUTPUT"] == "access.log":
        app.config.setdefault("REQLOG_MAX_BYTES", 10_000_000)  # then keep 7 old files
    instance = Path(app.instance_path)
    make_private_folder(instance)
    if not app.config.get("SECRET_KEY"):
        with setup_lock(instance):
            app.config["SECRET_KEY"] = instance_secret(instance)
    # Files other programs create (SQLite, the log handler) would get the umask's mode.
    if "AUTH_DATABASE_URI" not in app.config:
        create_private_file(instance / "auth.db")
    if app.config["REQLOG_OUTPUT"] == "access.log":
        create_private_file(instance / "access.log")

    app.register_blueprint(bp)
    auth.init_app(app)
    cors.init_app(app)
    limiter.init_app(app)
    stats.init_app(app)
    apidocs.init_app(app)
    # The auth pages, per client address. A limit naming methods leaves every other method
    # unlimited (and replaces the 300/minute default), so there are two: every method, 60 a
    # minute: the login form is cheap, but each GET (and HEAD, counted with it) renders a
    # CSRF token and writes the session cookie, which a person never needs 60 times a
    # minute; and POST, 10 a minute: each guess costs an Argon2 hash, on top of auth's own
    # per-account lockout.
    limiter.limit("60/minute")(app.blueprints["auth"])
    limiter.limit("10/minute", methods=["POST"])(app.blueprints["auth"])
    timer.init_app(app)  # after the others, so its total covers them too
    reqlog.init_app(app)  # outermost: its duration covers everything, timer included
    # It only wraps the body's stream, so its place among the middlewares does not matter.
    app.wsgi_app = ReadableBody(app.wsgi_app)  # type: ignore[method-assign]
    if app.config["DEMO_INIT"]:
        app.extensions["flask-plug-demo"] = {"created_users": init_instance(app)}
    return app


def close_app(app: Flask) -> None:
    """Release what :func:`create_app` opened for ``app``: the request log's writer (its
    lines written first) and auth's database connections. A later request opens new ones.
    """
    reqlog.close(app)
    with app.app_context():
        auth.store.engine.dispose()


def init_instance(app: Flask) -> bool:
    """Create auth's tables and, on an empty database, the first users; once.

    :return: whether users were created (their passwords are then printed and saved).
    """
    # Several processes may start at once on a fresh instance: one sets it up.
    with setup_lock(Path(app.instance_path)), app.app_context():
        auth.store.create_tables()
        if auth.store.count_users() == 0:
            _first_users(app)
            return True
    return False


@bp.cli.command("init")
def init_command() -> None:
    """Create the tables and the first users (their passwords are printed once)."""
    # With DEMO_INIT on, the factory has just done it (and said the passwords).
    made_by_factory = current_app.extensions.get("flask-plug-demo", {}).get("created_users")
    if not init_instance(current_app) and not made_by_factory:
        click.echo("The database has its tables and users already.")


def _first_users(app: Flask) -> None:
    """Create an admin and a normal user with random passwords, and say them once."""
    lines = []
    for username, roles in (("admin", ["admin"]), ("demo", [])):
        password = secrets.token_urlsafe(12)
        auth.register_user(username, password, roles=roles)
        lines.append(f"  {username:6} {password}")
    path = Path(app.instance_path) / "first-run-passwords.txt"
    path.unlink(missing_ok=True)
    create_private_file(
        path, "\n".join(["Flask-Plug demo users (user name, password):", *lines]) + "\n"
    )
    if not app.testing:
        print(  # the one time these passwords are shown
            "\nFlask-Plug demo: created users (log in at /auth/login):\n"
            + "\n".join(lines)
            + f"\n(also saved in {path}; delete that file once noted)\n",
            file=sys.stderr,
        )
