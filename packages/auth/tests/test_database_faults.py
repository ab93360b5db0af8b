"""PostgreSQL failing under a running app: reset and stalled connections, through a real
TCP proxy (the ``fault_proxy`` fixture of ``testing/``) between the app and the server."""

from __future__ import annotations

import logging
import secrets
import threading
import time
import typing as t
import uuid
from pathlib import Path

import pytest
from flask import Flask, g, jsonify
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from flask_plug.auth import Auth, User

from .conftest import HTML, JSON, PASSWORDS, get_csrf, post_login, postgresql_url

if t.TYPE_CHECKING:
    from flask_plug_testing import FaultProxy
    from flask_plug_testing.plugin import ProxyFactory

# The most a request may take while the database stalls, with AUTH_DB_TIMEOUT=1: generous,
# so a loaded machine does not fail the test; without timeouts such a request never ends.
STALL_BOUND = 10.0


@pytest.fixture
def schema(postgresql_admin: Engine) -> t.Iterator[str]:
    name = f"test_{uuid.uuid4().hex}"
    with postgresql_admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    yield name
    with postgresql_admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


@pytest.fixture
def proxy(fault_proxy: ProxyFactory, postgresql_admin: Engine) -> FaultProxy:
    """A fault proxy in front of the test PostgreSQL server."""
    url = postgresql_admin.url
    return fault_proxy(url.host or "127.0.0.1", url.port or 5432)


@pytest.fixture
def make_app(
    auth: Auth, proxy: FaultProxy, schema: str, tmp_path: Path
) -> t.Iterator[t.Callable[..., Flask]]:
    """An app whose auth opens ``AUTH_DATABASE_URI`` through the proxy, with ann and bob."""
    apps: list[Flask] = []

    def make(**config: t.Any) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        url = make_url(postgresql_url()).set(
            host=proxy.host, port=proxy.port, query={"options": f"-csearch_path={schema}"}
        )
        app.config.update(
            SECRET_KEY=secrets.token_hex(32),
            TESTING=True,
            AUTH_DATABASE_URI=url.render_as_string(hide_password=False),
        )
        app.config.update(config)

        @app.get("/")
        def index() -> str:
            return "public page"

        @app.get("/private")
        @auth.login_required
        def private() -> str:
            return f"private page of {g.user.username}"

        @app.get("/api/me")
        @auth.login_required
        def me() -> t.Any:
            user: User = g.user
            return jsonify(username=user.username)

        auth.init_app(app)
        with app.app_context():
            auth.store.create_tables()
            if not auth.store.count_users():
                auth.register_user("ann", PASSWORDS["ann"], roles=["admin"])
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["flask-plug-auth"].store.engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **JSON}


def token_of_ann(app: Flask, auth: Auth) -> str:
    with app.app_context():
        user = auth.store.find_user("ann")
        assert user is not None
        return auth.create_token(user[0])


def within(seconds: float, call: t.Callable[[], t.Any]) -> tuple[t.Any, float]:
    """Run ``call`` in a thread; its result and duration, or fail after ``seconds``
    (a request stuck on a stalled socket would otherwise hang the test run)."""
    outcome: list[t.Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as e:  # re-raised in the test's thread
            outcome.append(e)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    elapsed = time.monotonic() - started
    assert outcome, f"no answer within {seconds} s"
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0], elapsed


def assert_unavailable_page(response: t.Any) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and len(body) < 2000


def assert_unavailable_problem(response: t.Any) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 503 and problem["title"] == "Service Unavailable"


# -- reset: the server is gone ---------------------------------------------------------------


def test_login_during_reset_answers_503_page_then_works_when_database_returns(
    make_app: t.Callable[..., Flask], proxy: FaultProxy
) -> None:
    app = make_app()
    client = app.test_client()
    csrf = get_csrf(client)  # the form itself needs no database
    proxy.mode = "reset"
    response = post_login(client, "ann", PASSWORDS["ann"], csrf_token=csrf)
    assert_unavailable_page(response)
    proxy.mode = "pass"
    response = post_login(client, "ann", PASSWORDS["ann"], csrf_token=csrf)
    assert response.status_code == 302


def test_session_page_and_bearer_request_answer_503_during_reset_and_recover(
    make_app: t.Callable[..., Flask], auth: Auth, proxy: FaultProxy
) -> None:
    app = make_app()
    token = token_of_ann(app, auth)
    browser = app.test_client()
    assert post_login(browser, "ann", PASSWORDS["ann"]).status_code == 302
    assert browser.get("/private", headers=HTML).status_code == 200
    proxy.mode = "reset"
    assert_unavailable_page(browser.get("/private", headers=HTML))
    assert_unavailable_problem(app.test_client().get("/api/me", headers=bearer(token)))
    assert_unavailable_problem(browser.get("/private", headers=JSON))
    proxy.mode = "pass"
    # The first request after the database returns is served: no restart, no 503 left.
    assert browser.get("/private", headers=HTML).status_code == 200
    assert app.test_client().get("/api/me", headers=bearer(token)).status_code == 200


def test_an_outage_is_logged_in_one_line_and_its_end_with_the_count(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    proxy: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app()
    token = token_of_ann(app, auth)
    client = app.test_client()
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    proxy.mode = "reset"
    with caplog.at_level(logging.INFO):
        for _ in range(5):
            assert client.get("/api/me", headers=bearer(token)).status_code == 503
        proxy.mode = "pass"
        assert client.get("/api/me", headers=bearer(token)).status_code == 200
        assert client.get("/api/me", headers=bearer(token)).status_code == 200
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(lines) == 2, [r.getMessage() for r in lines]
    down, up = (r.getMessage() for r in lines)
    assert lines[0].levelno == logging.ERROR and "database" in down
    assert "Traceback" not in down and lines[0].exc_info is None
    assert "5 requests" in up, up
    assert all(r.exc_info is None for r in caplog.records)


# -- stall: the server holds connections open and answers nothing -----------------------------


@pytest.mark.parametrize("warm", [True, False], ids=["pooled-connection", "new-connection"])
def test_login_while_database_stalls_answers_503_within_the_timeout(
    make_app: t.Callable[..., Flask], proxy: FaultProxy, warm: bool
) -> None:
    app = make_app(AUTH_DB_TIMEOUT=1)
    client = app.test_client()
    csrf = get_csrf(client)
    if warm:  # a connection waits in the pool when the stall begins
        assert post_login(client, "ann", PASSWORDS["ann"], csrf_token=csrf).status_code == 302
        csrf = get_csrf(client)
    else:
        app.extensions["flask-plug-auth"].store.engine.dispose()
    proxy.mode = "stall"
    response, _ = within(
        STALL_BOUND, lambda: post_login(client, "ann", PASSWORDS["ann"], csrf_token=csrf)
    )
    assert_unavailable_page(response)
    proxy.mode = "pass"
    response = post_login(client, "ann", PASSWORDS["ann"], csrf_token=get_csrf(client))
    assert response.status_code == 302


def test_bearer_request_while_database_stalls_answers_503_within_the_timeout(
    make_app: t.Callable[..., Flask], auth: Auth, proxy: FaultProxy
) -> None:
    app = make_app(AUTH_DB_TIMEOUT=1)
    token = token_of_ann(app, auth)
    client = app.test_client()
    assert client.get("/api/me", headers=bearer(token)).status_code == 200
    proxy.mode = "stall"
    for _ in range(2):  # the second waits no longer than the first
        response, _ = within(STALL_BOUND, lambda: client.get("/api/me", headers=bearer(token)))
        assert_unavailable_problem(response)


def test_requests_that_never_read_the_user_never_touch_the_database(
    make_app: t.Callable[..., Flask], auth: Auth, proxy: FaultProxy
) -> None:
    app = make_app(AUTH_DB_TIMEOUT=30)  # a database call would show as a 503 or a hang
    token = token_of_ann(app, auth)
    browser = app.test_client()
    assert post_login(browser, "ann", PASSWORDS["ann"]).status_code == 302
    proxy.mode = "stall"
    accepted = proxy.accepted
    for client, headers in [
        (browser, HTML),  # with a login session cookie
        (app.test_client(), bearer(token)),
        (app.test_client(), HTML),
    ]:
        response, _ = within(STALL_BOUND, lambda c=client, h=headers: c.get("/", headers=h))
        assert response.status_code == 200
        response, _ = within(STALL_BOUND, lambda c=client: c.get("/auth/login", headers=HTML))
        assert response.status_code == 200
    assert proxy.accepted == accepted


# -- SQLite: a lock held too long -------------------------------------------------------------


def test_login_while_sqlite_is_locked_answers_503_within_the_timeout(
    auth: Auth, tmp_path: Path
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY=secrets.token_hex(32), TESTING=True, AUTH_DB_TIMEOUT=1)
    auth.init_app(app)  # SQLite in the instance folder
    engine = app.extensions["flask-plug-auth"].store.engine
    try:
        with app.app_context():
            auth.store.create_tables()
            auth.register_user("ann", PASSWORDS["ann"])
        client = app.test_client()
        csrf = get_csrf(client)
        locker = engine.raw_connection()
        try:
            locker.execute("BEGIN EXCLUSIVE")  # another process writing, longer than allowed
            response, _ = within(
                STALL_BOUND, lambda: post_login(client, "ann", PASSWORDS["ann"], csrf_token=csrf)
            )
            assert_unavailable_page(response)
        finally:
            locker.rollback()
            locker.close()
        assert post_login(client, "ann", PASSWORDS["ann"], csrf_token=csrf).status_code == 302
    finally:
        # Close the pool of the engine auth opened; left to the garbage collector, its
        # sqlite3 connections raise ResourceWarning (Python 3.13) in some later test.
        engine.dispose()
