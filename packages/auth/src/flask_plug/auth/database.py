"""The user database as a network dependency: timeouts on the engine auth opens, a deadline
on every call, and one answer (503) and one log line per outage when it fails."""

from __future__ import annotations

import json
import logging
import math
import os
import re
import socket
import threading
import time
import typing as t
from contextlib import contextmanager

from flask import current_app, has_app_context, has_request_context, request
from markupsafe import escape
from sqlalchemy import create_engine, event, literal_column, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import ServiceUnavailable

from .login import wants_json

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from sqlalchemy.engine import Engine
    from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

RETRY_AFTER = 5
"""Seconds a client is asked to wait (``Retry-After``) while the database is unavailable."""

REPORT_EVERY = 60.0
"""While an outage lasts, its log line is repeated at most this often, with the count."""

_FRESH = "flask_plug_auth_fresh"
_COUNTED = "flask_plug.auth.db_failure_counted"
_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Service Unavailable</title></head>
<body><h1>Service Unavailable</h1><p>{}</p></body></html>
"""


class DatabaseUnavailable(ServiceUnavailable):
    """503 Service Unavailable: the user database did not answer (unreachable, connection
    reset, or no answer within ``AUTH_DB_TIMEOUT``).

    API clients get ``application/problem+json`` (RFC 9457), browsers a short page; both
    with ``Retry-After``. Register ``@app.errorhandler(DatabaseUnavailable)`` to answer
    differently.

    .. versionadded:: 0.2
    """

    description = "Logins cannot be checked right now. Please try again in a few seconds."

    def _for_program(self) -> bool:
        return has_request_context() and wants_json()

    def get_body(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
    ) -> str:
        if self._for_program():
            problem = {"type": "about:blank", "title": self.name, "status": self.code}
            return json.dumps({**problem, "detail": self.description})
        return _PAGE.format(escape(self.description))

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
    ) -> list[tuple[str, str]]:
        mimetype = "application/problem+json" if self._for_program() else "text/html; charset=utf-8"
        return [
            ("Content-Type", mimetype),
            ("Retry-After", str(RETRY_AFTER)),
            ("Cache-Control", "no-store"),
        ]


# -- the engine -------------------------------------------------------------------------------


def hide_password(uri: str) -> str:
    """The URI with any password replaced, for error messages."""
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", uri)


def open_engine(uri: str, timeout: float) -> tuple[Engine, Deadlines | None]:
    """An engine on ``uri`` where no call waits longer than about ``timeout`` seconds.

    SQLite waits at most ``timeout`` for a lock. Other databases: ``pool_timeout``, a
    connection check on checkout, and a deadline on every call (:class:`Deadlines`); for
    PostgreSQL (psycopg, psycopg2) also libpq's ``connect_timeout`` (whole seconds, 2 at
    least) and the server's ``statement_timeout``.

    :raises sqlalchemy.exc.ArgumentError: for a URI SQLAlchemy cannot open.
    :raises ImportError: if the database driver is not installed.
    """
    url = make_url(uri)
    if url.get_backend_name() == "sqlite":
        return create_engine(url, connect_args={"timeout": timeout}), None
    connect_args: dict[str, t.Any] = {}
    if url.get_backend_name() == "postgresql" and url.get_driver_name() in ("psycopg", "psycopg2"):
        connect_args["connect_timeout"] = max(2, math.ceil(timeout))
        statement = f"-c statement_timeout={max(1, round(timeout * 1000))}"
        given = url.query.get("options")
        given = " ".join(given) if isinstance(given, tuple) else given
        connect_args["options"] = f"{given} {statement}" if given else statement
    engine = create_engine(url, connect_args=connect_args, pool_timeout=timeout)
    deadlines = Deadlines(timeout)
    _check_on_checkout(engine, deadlines)
    return engine, deadlines


def _check_on_checkout(engine: Engine, deadlines: Deadlines) -> None:
    """Ping a pooled connection before use, within the call's deadline.

    SQLAlchemy's ``pool_pre_ping`` does the same, but before any event lets the deadline
    see the connection: on a stalled server its ping would wait forever.
    """

    # "SELECT 1", in the dialect's words ("SELECT 1 FROM DUAL" on Oracle).
    select_one = str(select(literal_column("1")).compile(dialect=engine.dialect))

    @event.listens_for(engine, "connect")
    def mark_fresh(dbapi_connection: t.Any, record: ConnectionPoolEntry) -> None:
        record.info[_FRESH] = True

    @event.listens_for(engine, "checkout")
    def ping(
        dbapi_connection: t.Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
    ) -> None:
        deadlines.attach(dbapi_connection)
        if record.info.pop(_FRESH, False):
            return  # just connected: nothing to check
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute(select_one)
            finally:
                cursor.close()
        except Exception as e:
            if deadlines.passed():
                raise  # out of time: no second try on a new connection
            # The pool replaces the connection with a new one and tries again, once.
            raise DisconnectionError(f"connection check failed: {e}") from e


class _Call:
    __slots__ = ("deadline", "fd", "cut")

    def __init__(self) -> None:
        self.deadline = math.inf
        self.fd: int | None = None
        self.cut = False


class Deadlines:
    """End database calls that run past ``seconds``: one watcher thread shuts down the
    socket of a call whose deadline passed, so the driver's wait ends with a disconnect
    error (which SQLAlchemy answers by replacing the connection).

    Neither ``statement_timeout`` (the server never sees the query) nor TCP keepalives (the
    kernel still acknowledges) end a wait on a server that is hung with its socket open.

    :param seconds: the most a call may take from the moment it has its connection.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._calls: dict[int, _Call] = {}
        self._changed = threading.Condition()
        self._watcher: threading.Thread | None = None

    @contextmanager
    def call(self) -> t.Iterator[_Call]:
        """Run a call (one connection's use) under the deadline; nested calls share it."""
        ident = threading.get_ident()
        with self._changed:
            outer = self._calls.get(ident)
            call = self._calls[ident] = outer or _Call()
        try:
            yield call
        finally:
            if outer is None:
                with self._changed:
                    del self._calls[ident]
                    if call.fd is not None:
                        os.close(call.fd)

    def attach(self, dbapi_connection: t.Any) -> None:
        """Watch the connection this thread's call has just checked out."""
        fileno = getattr(dbapi_connection, "fileno", None)
        call = self._calls.get(threading.get_ident())
        if call is None or fileno is None:
            return  # not one of auth's calls, or a driver without a socket to watch
        # A duplicate of the socket's descriptor: if the driver closes its own, this one
        # still names the same socket, never a new one that reused the number.
        fd = os.dup(fileno())
        with self._changed:
            if call.fd is not None:
                os.close(call.fd)  # the pool replaced a connection that failed its check
            call.fd = fd
            if call.deadline == math.inf:
                call.deadline = time.monotonic() + self.seconds
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name="flask-plug-auth deadlines", daemon=True
                )
                self._watcher.start()
            self._changed.notify()

    def passed(self) -> bool:
        """Whether this thread's call ran out of time (and its connection was cut)."""
        call = self._calls.get(threading.get_ident())
        return call is not None and call.cut

    def _watch(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                waiting = [c for c in self._calls.values() if c.fd is not None and not c.cut]
                for call in waiting:
                    if call.deadline <= now:
                        _shut_down(t.cast(int, call.fd))
                        call.cut = True
                upcoming = [c.deadline for c in waiting if not c.cut]
                if upcoming:
                    self._changed.wait(min(upcoming) - now)
                elif not self._changed.wait(30) and not self._calls:
                    self._watcher = None  # idle: the next attach starts a new one
                    return


def _shut_down(fd: int) -> None:
    sock = socket.socket(fileno=fd)
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed by the peer
    finally:
        sock.detach()  # the descriptor is closed when the call ends


# -- failures -------------------------------------------------------------------------------


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error means the database is unreachable, hung or overloaded,
    rather than a bug or a constraint."""
    if isinstance(error, PoolTimeout):
        return True
    return isinstance(error, (OperationalError, InterfaceError)) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


def describe(error: BaseException) -> str:
    """The driver's first line: without the SQL and parameters SQLAlchemy adds."""
    cause = getattr(error, "orig", None) or error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


class Outage:
    """Log a database outage once when it starts, at most every :data:`REPORT_EVERY`
    seconds while it lasts, and once when it ends, with how many requests it failed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None
        self._failed = 0
        self._last_report = 0.0

    def failed(self, reason: str) -> None:
        if has_request_context():
            if request.environ.get(_COUNTED):
                return  # one request, one failure, however many calls it tried
            request.environ[_COUNTED] = True
        with self._lock:
            now = time.monotonic()
            self._failed += 1
            first = self._since is None
            if first:
                self._since = now
            elif now - self._last_report < REPORT_EVERY:
                return
            self._last_report = now
            failed, since = self._failed, self._since
        if first:
            _logger().error(
                "flask-plug-auth: the user database is unavailable (%s); requests that need"
                " a user answer 503 until it answers again",
                reason,
            )
        else:
            _logger().error(
                "flask-plug-auth: the user database is still unavailable (%s): %d requests"
                " failed in %.0f s",
                reason,
                failed,
                now - t.cast(float, since),
            )

    def answered(self) -> None:
        if self._since is None:  # the common case: no lock
            return
        with self._lock:
            if self._since is None:
                return
            failed, lasted = self._failed, time.monotonic() - self._since
            self._since, self._failed = None, 0
        _logger().warning(
            "flask-plug-auth: the user database answers again after %.1f s; %d requests"
            " failed meanwhile",
            lasted,
            failed,
        )


def _logger() -> logging.Logger:
    return current_app.logger if has_app_context() else logging.getLogger("flask_plug.auth")
