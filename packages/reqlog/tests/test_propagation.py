"""Request ids that follow the work: into threads (``copy_request_context``) and onto the
HTTP calls a request makes with ``requests`` and ``httpx`` (``send_request_id``), checked
against a real server on 127.0.0.1 that echoes the headers it received."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import typing as t
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from pathlib import Path

import httpx
import pytest
import requests
from flask import Flask, current_app, g, request

from flask_plug.reqlog import (
    RequestIdFilter,
    RequestLog,
    asend_request_id,
    copy_request_context,
    current_request_id,
    send_request_id,
)

if t.TYPE_CHECKING:
    from flask_plug_testing import LiveServers

# Another extension's context variable: it travels with the copy too.
tenant: ContextVar[str | None] = ContextVar("test_tenant", default=None)


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def ids(self, message: str) -> list[str]:
        return [vars(r)["request_id"] for r in self.records if r.getMessage() == message]


@pytest.fixture
def fresh_app(tmp_path: Path) -> t.Iterator[Flask]:
    """An app whose logger no other test has touched, its records kept in ``app.records``."""
    app = Flask(f"reqlog_test_{uuid.uuid4().hex}", instance_path=str(tmp_path / "instance"))
    app.config["REQLOG_OUTPUT"] = str(tmp_path / "access.log")
    records = Records()
    app.logger.addHandler(records)
    app.logger.setLevel(logging.INFO)
    app.records = records  # type: ignore[attr-defined]
    yield app
    app.logger.removeHandler(records)
    if "flask-plug-reqlog" in app.extensions:
        RequestLog().close(app)


def records_of(app: Flask) -> Records:
    return app.records  # type: ignore[attr-defined, no-any-return]


# --- threads -------------------------------------------------------------------------------


def work(label: str) -> dict[str, t.Any]:
    """What a thread of the request sees, logging a record as it goes."""
    current_app.logger.info("in %s", label)
    return {
        "id": current_request_id.get(),
        "g_id": g.request_id,
        "g_user": g.get("user"),
        "tenant": tenant.get(),
        "path": request.path,
    }


def test_a_thread_carries_the_request_id_g_and_other_context_vars(fresh_app: Flask) -> None:
    app = fresh_app
    seen: dict[str, t.Any] = {}

    @app.get("/thread")
    def start_thread() -> str:
        g.user = "alice"
        tenant.set("acme")
        thread = threading.Thread(target=copy_request_context(lambda: seen.update(work("thread"))))
        thread.start()
        thread.join()
        return "ok"

    RequestLog(app)
    with app.test_client().get("/thread", headers={"X-Request-ID": "req-thread"}) as response:
        assert response.status_code == 200
    assert seen == {
        "id": "req-thread",
        "g_id": "req-thread",
        "g_user": "alice",
        "tenant": "acme",
        "path": "/thread",
    }
    assert records_of(app).ids("in thread") == ["req-thread"]


def test_without_the_copy_a_thread_has_no_request_id(fresh_app: Flask) -> None:
    app = fresh_app
    seen: list[str | None] = []

    @app.get("/bare")
    def bare() -> str:
        def log() -> None:
            seen.append(current_request_id.get())
            logging.getLogger(app.logger.name).info("bare thread")

        thread = threading.Thread(target=log)
        thread.start()
        thread.join()
        return "ok"

    RequestLog(app)
    app.test_client().get("/bare", headers={"X-Request-ID": "req-bare"}).close()
    assert seen == [None]
    assert records_of(app).ids("bare thread") == ["-"]


def test_a_pool_runs_one_copy_in_many_threads_at_once(fresh_app: Flask) -> None:
    app = fresh_app
    together = threading.Barrier(4, timeout=10)

    def task(index: int) -> dict[str, t.Any]:
        together.wait()  # four calls of one wrapped function run at the same time
        return work(f"task {index}")

    @app.get("/pool")
    def pool() -> dict[str, t.Any]:
        g.user = "bob"
        tenant.set("initech")
        in_context = copy_request_context(task)
        with ThreadPoolExecutor(4) as executor:
            results = list(executor.map(in_context, range(8)))
        return {"results": results}

    RequestLog(app)
    client = app.test_client()
    with client.get("/pool", headers={"X-Request-ID": "req-pool"}) as response:
        results = response.json["results"]  # type: ignore[index]
    expected = {"id": "req-pool", "g_id": "req-pool", "g_user": "bob", "tenant": "initech"}
    assert [{k: r[k] for k in expected} for r in results] == [expected] * 8
    for index in range(8):
        assert records_of(app).ids(f"in task {index}") == ["req-pool"]
    # Each request's threads carry that request's id.
    with client.get("/pool") as other:
        other_id = other.headers["X-Request-ID"]
        assert {r["id"] for r in other.json["results"]} == {other_id}  # type: ignore[index]


def test_a_thread_outliving_its_request_keeps_the_id(fresh_app: Flask) -> None:
    app = fresh_app
    go = threading.Event()
    seen: list[t.Any] = []
    threads: list[threading.Thread] = []

    def later() -> None:
        go.wait(10)
        seen.append((current_request_id.get(), g.request_id))
        current_app.logger.info("after the response")

    @app.get("/later")
    def start_later() -> str:
        threads.append(threading.Thread(target=copy_request_context(later)))
        threads[0].start()
        return "queued"

    RequestLog(app)
    with app.test_client().get("/later", headers={"X-Request-ID": "req-later"}) as response:
        assert response.get_data() == b"queued"
    go.set()  # the response is closed: the request is over
    threads[0].join(10)
    assert seen == [("req-later", "req-later")]
    assert records_of(app).ids("after the response") == ["req-later"]


def test_the_filter_on_a_handler_stamps_thread_records_of_any_logger(fresh_app: Flask) -> None:
    app = fresh_app
    library = logging.getLogger(f"somelib.{uuid.uuid4().hex}")
    handler = Records()
    handler.addFilter(RequestIdFilter())
    library.addHandler(handler)

    @app.get("/library")
    def from_library() -> str:
        thread = threading.Thread(target=copy_request_context(library.warning), args=("lib",))
        thread.start()
        thread.join()
        return "ok"

    RequestLog(app)
    app.test_client().get("/library", headers={"X-Request-ID": "req-lib"}).close()
    library.removeHandler(handler)
    assert handler.ids("lib") == ["req-lib"]


# --- outgoing HTTP calls -------------------------------------------------------------------


@pytest.fixture
def echo(live_server: LiveServers) -> str:
    """A real server on 127.0.0.1 answering every request with the headers it received."""
    echo_app = Flask("echo")

    @echo_app.get("/")
    def headers() -> dict[str, str]:
        return dict(request.headers)

    return live_server(echo_app)


def calling_app(app: Flask, echo: str) -> Flask:
    """Views that call the echo server each way, answering with what it received."""

    @app.get("/requests")
    def with_requests() -> t.Any:
        return requests.get(echo, auth=send_request_id, timeout=10).json()

    @app.get("/requests-session")
    def with_a_session() -> t.Any:
        with requests.Session() as session:
            session.auth = send_request_id
            return session.get(echo, timeout=10).json()

    @app.get("/requests-basic-auth")
    def with_basic_auth_too() -> t.Any:
        basic = requests.auth.HTTPBasicAuth("user", "pw")
        return requests.get(echo, auth=lambda r: send_request_id(basic(r)), timeout=10).json()

    @app.get("/httpx")
    def with_httpx() -> t.Any:
        with httpx.Client(event_hooks={"request": [send_request_id]}, timeout=10) as client:
            return client.get(echo).json()

    @app.get("/httpx-async")
    async def with_httpx_async() -> t.Any:
        async with httpx.AsyncClient(
            event_hooks={"request": [asend_request_id]}, timeout=10
        ) as client:
            return (await client.get(echo)).json()

    @app.get("/httpx-in-a-thread")
    def from_a_thread() -> t.Any:
        def call() -> t.Any:
            with httpx.Client(event_hooks={"request": [send_request_id]}, timeout=10) as client:
                return client.get(echo).json()

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(copy_request_context(call)).result()

    return app


CALLS = ["/requests", "/requests-session", "/httpx", "/httpx-async", "/httpx-in-a-thread"]


@pytest.mark.parametrize("path", CALLS)
def test_outgoing_calls_carry_the_request_id(fresh_app: Flask, echo: str, path: str) -> None:
    app = calling_app(fresh_app, echo)
    RequestLog(app)
    client = app.test_client()
    received = client.get(path, headers={"X-Request-ID": "req-out"}).json
    assert received is not None and received["X-Request-Id"] == "req-out"
    made = client.get(path)
    assert made.json is not None and made.json["X-Request-Id"] == made.headers["X-Request-ID"]


@pytest.mark.parametrize("path", CALLS)
def test_outgoing_calls_use_the_apps_header(fresh_app: Flask, echo: str, path: str) -> None:
    app = calling_app(fresh_app, echo)
    RequestLog(app, request_id_header="X-Correlation-ID")
    received = app.test_client().get(path, headers={"X-Correlation-ID": "corr-out"}).json
    assert received is not None
    assert received["X-Correlation-Id"] == "corr-out"
    assert "X-Request-Id" not in received


def test_other_auth_still_applies(fresh_app: Flask, echo: str) -> None:
    app = calling_app(fresh_app, echo)
    RequestLog(app)
    received = app.test_client().get("/requests-basic-auth", headers={"X-Request-ID": "r"}).json
    assert received is not None
    assert received["X-Request-Id"] == "r"
    assert received["Authorization"] == "Basic dXNlcjpwdw=="


def test_outside_a_request_nothing_is_added(echo: str) -> None:
    assert "X-Request-Id" not in requests.get(echo, auth=send_request_id, timeout=10).json()
    with httpx.Client(event_hooks={"request": [send_request_id]}, timeout=10) as client:
        assert "X-Request-Id" not in client.get(echo).json()


def test_importing_the_package_imports_neither_client() -> None:
    code = (
        "import sys, flask_plug.reqlog\n"
        "print(sorted(m for m in ('requests', 'httpx') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
