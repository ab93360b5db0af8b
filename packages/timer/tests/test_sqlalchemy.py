"""``TIMER_SQLALCHEMY``: the request's database time and query count as one ``db`` metric,
from SQLAlchemy's engine events, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import contextvars
import os
import subprocess
import sys
import threading
import typing as t
import uuid
from pathlib import Path

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool

from flask_plug.timer import SpanTiming, Timer, request_timed

from .conftest import parse_server_timing

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgresql_url() -> str:
    url = make_url(os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL))
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgresql() -> str:
    """The URL of the PostgreSQL server; skipped where it does not answer, except in CI."""
    url = postgresql_url()
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError as e:
        reason = f"PostgreSQL at {make_url(url).render_as_string()} is unreachable: {e.orig}"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    finally:
        engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[Engine]:
    url = (
        f"sqlite:///{tmp_path / 'timer.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgresql")
    )
    engine = create_engine(url)
    yield engine
    engine.dispose()


def get(app: Flask, path: str) -> tuple[dict[str, dict[str, str]], dict[str, SpanTiming]]:
    seen: list[tuple[SpanTiming, ...]] = []

    def record(sender: Flask, spans: tuple[SpanTiming, ...], **extra: t.Any) -> None:
        seen.append(spans)

    with request_timed.connected_to(record, app):
        response = app.test_client().get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    metrics = parse_server_timing(*response.headers.getlist("Server-Timing"))
    return {m["name"]: m for m in metrics}, {span.name: span for span in seen[0]}


def make_app(**options: t.Any) -> Flask:
    app = Flask(__name__)
    Timer(app, spans=True, **options)
    return app


def test_db_metric_sums_the_queries_of_the_request(engine: Engine) -> None:
    app = make_app(sqlalchemy=True)

    @app.get("/")
    def index() -> str:
        with engine.connect() as connection:
            for n in range(4):
                connection.execute(text("select :n"), {"n": n})
        return "ok"

    metrics, spans = get(app, "/")
    assert metrics["db"]["desc"] == "4 queries"
    assert 0 <= float(metrics["db"]["dur"]) <= float(metrics["app"]["dur"])
    db = spans["db"]
    assert (db.count, db.desc, db.finished) == (4, "4 queries", True)
    # Every request counts its own queries.
    assert get(app, "/")[0]["db"]["desc"] == "4 queries"


def test_one_query_is_singular(engine: Engine) -> None:
    app = make_app(sqlalchemy=True)

    @app.get("/")
    def index() -> str:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        return "ok"

    assert get(app, "/")[0]["db"]["desc"] == "1 query"


def test_no_query_no_db_metric() -> None:
    app = make_app(sqlalchemy=True)
    app.get("/")(lambda: "ok")
    assert list(get(app, "/")[0]) == ["app"]


def test_flask_sqlalchemy_engines_and_binds(postgresql: str, tmp_path: Path) -> None:
    class Base(DeclarativeBase):
        pass

    db = SQLAlchemy(model_class=Base)
    suffix = uuid.uuid4().hex

    class Note(db.Model):  # type: ignore[name-defined,misc]
        __tablename__ = f"timer_note_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        title: Mapped[str]

    class Event(db.Model):  # type: ignore[name-defined,misc]
        __bind_key__ = "events"
        __tablename__ = f"timer_event_{suffix}"
        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str]

    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'notes.db'}",
        SQLALCHEMY_BINDS={"events": postgresql},
        TIMER_SQLALCHEMY=True,
        TIMER_SPANS=True,
    )
    # The timer first: it hears engines made after it.
    Timer(app)
    db.init_app(app)
    with app.app_context():
        db.create_all()  # outside a request: not counted anywhere

    @app.get("/")
    def index() -> dict[str, int]:
        db.session.add(Note(title="a"))
        db.session.add(Event(name="b"))
        db.session.commit()
        return {
            "notes": db.session.query(Note).count(),
            "events": db.session.query(Event).count(),
        }

    try:
        metrics, spans = get(app, "/")
        # An INSERT into each database, then a SELECT count from each.
        assert metrics["db"]["desc"] == "4 queries"
        assert spans["db"].count == 4
    finally:
        with app.app_context():
            db.drop_all()
            for engine in db.engines.values():
                engine.dispose()


def test_queries_outside_a_request_are_ignored(engine: Engine) -> None:
    app = make_app(sqlalchemy=True)

    @app.get("/")
    def index() -> str:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        return "ok"

    with app.app_context(), engine.connect() as connection:
        connection.execute(text("select 1"))  # a CLI command, a background job
    with app.test_request_context("/"), engine.connect() as connection:
        connection.execute(text("select 1"))  # a request context the timer did not time
    assert get(app, "/")[0]["db"]["desc"] == "1 query"


def test_an_app_with_the_option_off_gets_no_db_metric(engine: Engine) -> None:
    on, off = make_app(sqlalchemy=True), make_app()
    for app in (on, off):

        @app.get("/")
        def index() -> str:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
            return "ok"

    assert "db" in get(on, "/")[0]
    metrics, spans = get(off, "/")
    assert "db" not in metrics and "db" not in spans


def test_a_failed_query_counts_and_the_request_goes_on(engine: Engine) -> None:
    app = make_app(sqlalchemy=True)

    @app.get("/")
    def index() -> str:
        with engine.connect() as connection:
            try:
                connection.execute(text("select * from no_such_table_here"))
            except (OperationalError, ProgrammingError):
                pass
        return "ok"

    assert get(app, "/")[0]["db"]["desc"] == "1 query"


def test_db_metric_is_sent_with_spans_only_and_always_signalled(engine: Engine) -> None:
    app = Flask(__name__)
    Timer(app, spans=False, sqlalchemy=True)

    @app.get("/")
    def index() -> str:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        return "ok"

    metrics, spans = get(app, "/")
    assert list(metrics) == ["app"]
    assert spans["db"].count == 1


def test_queries_of_an_async_view(engine: Engine) -> None:
    app = make_app(sqlalchemy=True)

    def query() -> None:
        with engine.connect() as connection:
            connection.execute(text("select 1"))

    @app.get("/")
    async def index() -> str:
        query()
        await asyncio.sleep(0)
        await asyncio.to_thread(query)
        return "ok"

    assert get(app, "/")[0]["db"]["desc"] == "2 queries"


def test_queries_of_threads_started_by_the_request(engine: Engine) -> None:
    app = make_app(sqlalchemy=True)

    def query() -> None:
        with engine.connect() as connection:
            for _ in range(5):
                connection.execute(text("select 1"))

    @app.get("/")
    def index() -> str:
        threads = [
            threading.Thread(target=contextvars.copy_context().run, args=(query,)) for _ in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return "ok"

    assert get(app, "/")[0]["db"]["desc"] == "20 queries"


def test_without_sqlalchemy_the_option_is_refused() -> None:
    # A fresh interpreter where SQLAlchemy cannot be imported.
    script = (
        "import sys; sys.modules['sqlalchemy'] = None\n"
        "from flask import Flask\n"
        "from flask_plug.timer import Timer\n"
        "Timer(Flask('x'), sqlalchemy=True)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert (
        "RuntimeError: TIMER_SQLALCHEMY is on but SQLAlchemy is not installed;"
        " pip install SQLAlchemy"
    ) in result.stderr
