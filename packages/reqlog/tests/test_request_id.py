"""Request ids: kept when safe, made when not, echoed, on ``g``, in the access log and on
the app's own log records, one per request even across threads."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
import typing as t
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask, g, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_plug.reqlog import RequestIdFilter, RequestLog

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient
    from werkzeug.test import TestResponse

    from flask_plug_testing import LiveServers

NEW_ID = re.compile(r"[0-9a-f]{32}")
SAFE_ID = r"[A-Za-z0-9+/=._:-]{1,128}"


def start(app: Flask, reqlog: RequestLog, **options: t.Any) -> FlaskClient:
    reqlog.init_app(app, **options)
    return app.test_client()


def get(client: FlaskClient, path: str = "/", **kwargs: t.Any) -> TestResponse:
    """A GET whose body is read and which is closed, so its line is queued."""
    with client.get(path, **kwargs) as response:
        response.get_data()
    return response


def unsafe(value: str) -> dict[str, dict[str, str]]:
    """An incoming X-Request-ID as the server hands it over, even one the test client's
    header checks would refuse."""
    return {"environ_overrides": {"HTTP_X_REQUEST_ID": value}}


class Records(logging.Handler):
    """Keeps the records of the named loggers."""

    def __init__(self, *names: str) -> None:
        super().__init__(logging.DEBUG)
        self.names = set(names)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name in self.names:
            self.records.append(record)

    def by_message(self) -> dict[str, list[logging.LogRecord]]:
        found: dict[str, list[logging.LogRecord]] = {}
        for record in self.records:
            found.setdefault(record.getMessage(), []).append(record)
        return found


def tagged(records: list[logging.LogRecord]) -> list[str]:
    """The request ids the filter put on ``records``."""
    return [vars(record)["request_id"] for record in records]


@pytest.fixture
def root_records() -> t.Iterator[t.Callable[..., Records]]:
    """A handler on the root logger for the given logger names, removed afterwards."""
    added: list[Records] = []

    def attach(*names: str, with_filter: bool = True) -> Records:
        handler = Records(*names)
        if with_filter:
            handler.addFilter(RequestIdFilter())
        logging.getLogger().addHandler(handler)
        added.append(handler)
        return handler

    yield attach
    for handler in added:
        logging.getLogger().removeHandler(handler)
        handler.close()


@pytest.fixture
def fresh_app(tmp_path: Path) -> t.Iterator[Flask]:
    """An app whose logger no other test has touched (app.logger is named after the app)."""
    app = Flask(f"reqlog_test_{uuid.uuid4().hex}", instance_path=str(tmp_path / "instance"))
    app.config["REQLOG_OUTPUT"] = str(tmp_path / "access.log")
    app.config["REQLOG_FORMAT"] = "%L"
    yield app
    if "flask-plug-reqlog" in app.extensions:
        RequestLog().close(app)


# An incoming id


@pytest.mark.parametrize(
    "incoming",
    [
        "abc",
        "1",
        "x" * 128,
        "9f1c3f4e-2b7d-4f4a-9a57-0c1f0f3e6a5b",
        "YWJjZGVm+/==",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "svc:web.1_req-42",
    ],
)
def test_safe_request_id_is_echoed_on_g_and_logged(
    app: Flask, reqlog: RequestLog, read_log: t.Any, incoming: str
) -> None:
    client = start(app, reqlog, format="%L")
    response = get(client, headers={"X-Request-ID": incoming})
    assert response.headers["X-Request-ID"] == incoming
    assert response.json == {"request_id": incoming}
    assert read_log() == [incoming]


def test_request_id_is_in_the_json_line(app: Flask, reqlog: RequestLog, read_log: t.Any) -> None:
    client = start(app, reqlog, format="json")
    response = get(client, headers={"X-Request-ID": "trace-1"})
    assert response.headers["X-Request-ID"] == "trace-1"
    (line,) = read_log()
    assert json.loads(line)["request_id"] == "trace-1"


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("x" * 129, id="too-long"),
        pytest.param("abc def", id="space"),
        pytest.param('abc"def', id="double-quote"),
        pytest.param("abc'def", id="single-quote"),
        pytest.param("abc\r\nX-Injected: 1", id="crlf"),
        pytest.param("abc\ndef", id="lf"),
        pytest.param("abc\tdef", id="tab"),
        pytest.param("caf\xc3\xa9", id="non-ascii-utf8"),
        pytest.param("caf\xe9", id="non-ascii-latin1"),
        pytest.param("", id="empty"),
        pytest.param("<script>", id="angle-brackets"),
        pytest.param("a;b,c", id="separators"),
        pytest.param("a\\b", id="backslash"),
        pytest.param("%41%42", id="percent"),
    ],
)
def test_unsafe_request_id_is_replaced(
    app: Flask, reqlog: RequestLog, read_log: t.Any, incoming: str
) -> None:
    client = start(app, reqlog, format="%L")
    response = get(client, **unsafe(incoming))
    request_id = response.headers["X-Request-ID"]
    assert NEW_ID.fullmatch(request_id)
    assert response.json == {"request_id": request_id}
    assert read_log() == [request_id]


def test_request_id_header_appears_once(client: FlaskClient) -> None:
    response = get(client, headers={"X-Request-ID": "once"})
    assert response.headers.getlist("X-Request-ID") == ["once"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    incoming=st.text(st.characters(max_codepoint=0xFF), max_size=140)
    | st.from_regex(SAFE_ID, fullmatch=True)
)
def test_any_incoming_value_is_kept_only_if_safe(client: FlaskClient, incoming: str) -> None:
    request_id = get(client, **unsafe(incoming)).headers["X-Request-ID"]
    if re.fullmatch(SAFE_ID, incoming):
        assert request_id == incoming
    else:
        assert NEW_ID.fullmatch(request_id)


def test_every_request_gets_a_distinct_id(app: Flask, reqlog: RequestLog, read_log: t.Any) -> None:
    client = start(app, reqlog, format="%L")
    ids = [get(client).headers["X-Request-ID"] for _ in range(1000)]
    assert all(NEW_ID.fullmatch(request_id) for request_id in ids)
    assert len(set(ids)) == 1000
    assert read_log() == ids


def test_threads_on_a_live_server_get_distinct_ids(
    app: Flask,
    reqlog: RequestLog,
    read_log: t.Any,
    live_server: LiveServers,
    http_client: t.Any,
) -> None:
    reqlog.init_app(app, format="%L")
    server = http_client(live_server(app))
    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(lambda _: server.get_many(["/"] * 50), range(8)))
    live_server.stop()  # every request has finished, and queued its line
    answers = [answer for batch in batches for answer in batch]
    ids = [headers["X-Request-ID"] for _, headers, _ in answers]
    assert [json.loads(body)["request_id"] for _, _, body in answers] == ids
    assert len(set(ids)) == len(ids) == 400
    assert sorted(read_log()) == sorted(ids)


def test_untrusted_incoming_id_is_ignored(app: Flask, reqlog: RequestLog, read_log: t.Any) -> None:
    app.config["REQLOG_TRUST_REQUEST_ID"] = False
    client = start(app, reqlog, format="%L")
    response = get(client, headers={"X-Request-ID": "from-the-client"})
    request_id = response.headers["X-Request-ID"]
    assert NEW_ID.fullmatch(request_id)
    assert response.json == {"request_id": request_id}
    assert read_log() == [request_id]


def test_request_id_header_can_be_renamed(app: Flask, reqlog: RequestLog, read_log: t.Any) -> None:
    app.config["REQLOG_REQUEST_ID_HEADER"] = "X-Correlation-ID"
    client = start(app, reqlog, format="%L")
    kept = get(client, headers={"X-Correlation-ID": "corr-1", "X-Request-ID": "req-1"})
    assert kept.headers["X-Correlation-ID"] == "corr-1"
    assert "X-Request-ID" not in kept.headers
    assert kept.json == {"request_id": "corr-1"}

    made = get(client, headers={"X-Request-ID": "req-2"})
    assert NEW_ID.fullmatch(made.headers["X-Correlation-ID"])
    assert "X-Request-ID" not in made.headers
    assert read_log() == ["corr-1", made.headers["X-Correlation-ID"]]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/missing", 404),
        ("GET", "/forbidden", 403),
        ("POST", "/", 405),
        ("GET", "/boom", 500),
    ],
)
def test_error_responses_echo_the_request_id(
    app: Flask, reqlog: RequestLog, read_log: t.Any, method: str, path: str, status: int
) -> None:
    client = start(app, reqlog, format="%L %>s")
    with client.open(path, method=method, headers={"X-Request-ID": "err-1"}) as kept:
        kept.get_data()
    with client.open(path, method=method) as made:
        made.get_data()
    assert (kept.status_code, made.status_code) == (status, status)
    assert kept.headers["X-Request-ID"] == "err-1"
    made_id = made.headers["X-Request-ID"]
    assert NEW_ID.fullmatch(made_id)
    assert read_log() == [f"err-1 {status}", f"{made_id} {status}"]


def test_streamed_response_echoes_the_request_id(client: FlaskClient) -> None:
    response = get(client, "/stream", headers={"X-Request-ID": "stream-1"})
    assert response.headers["X-Request-ID"] == "stream-1"


# g.request_id


def test_g_request_id_is_the_id_in_hooks_and_views(app: Flask, reqlog: RequestLog) -> None:
    seen: list[tuple[str, str]] = []

    @app.before_request
    def before() -> None:
        seen.append(("before", g.request_id))

    @app.teardown_request
    def teardown(error: BaseException | None) -> None:
        seen.append(("teardown", g.request_id))

    client = start(app, reqlog)
    response = get(client, headers={"X-Request-ID": "hooks-1"})
    assert response.json == {"request_id": "hooks-1"}
    assert seen == [("before", "hooks-1"), ("teardown", "hooks-1")]


def test_g_request_id_can_be_overridden_by_the_app(app: Flask, reqlog: RequestLog) -> None:
    @app.get("/override")
    def override() -> str:
        g.request_id = "mine"
        return str(g.request_id)

    client = start(app, reqlog)
    assert get(client, "/override").get_data(as_text=True) == "mine"


def test_g_has_no_request_id_outside_a_request(app: Flask, reqlog: RequestLog) -> None:
    reqlog.init_app(app)
    with app.app_context():
        with pytest.raises(AttributeError):
            g.request_id  # noqa: B018
        assert g.get("request_id") is None


def test_g_get_request_id_inside_a_request(app: Flask, reqlog: RequestLog) -> None:
    @app.get("/g-get")
    def g_get() -> dict[str, t.Any]:
        return {"get": g.get("request_id"), "in": "request_id" in g}

    client = start(app, reqlog)
    response = get(client, "/g-get", headers={"X-Request-ID": "get-1"})
    assert response.json == {"get": "get-1", "in": True}


# RequestIdFilter and the app's own log records


def test_filter_on_a_handler_tags_records_of_any_logger(
    fresh_app: Flask, root_records: t.Callable[..., Records]
) -> None:
    app = fresh_app
    library = logging.getLogger("somelib")

    @app.get("/log")
    def log() -> str:
        app.logger.warning("from the app")
        library.warning("from a library")
        return "ok"

    records = root_records(app.logger.name, "somelib")
    client = start(app, RequestLog())
    request_id = get(client, "/log").headers["X-Request-ID"]
    library.warning("outside")
    app.logger.warning("outside too")

    found = records.by_message()
    assert tagged(found["from the app"]) == [request_id]
    assert tagged(found["from a library"]) == [request_id]
    assert tagged(found["outside"]) == ["-"]
    assert tagged(found["outside too"]) == ["-"]


def test_filter_works_in_a_handler_format(
    fresh_app: Flask, root_records: t.Callable[..., Records]
) -> None:
    app = fresh_app
    records = root_records(app.logger.name)
    records.setFormatter(logging.Formatter("%(request_id)s %(message)s"))

    @app.get("/log")
    def log() -> str:
        app.logger.warning("hello")
        return "ok"

    client = start(app, RequestLog())
    get(client, "/log", headers={"X-Request-ID": "fmt-1"})
    assert [records.format(record) for record in records.records] == ["fmt-1 hello"]


def test_filter_never_drops_a_record() -> None:
    record = logging.makeLogRecord({"msg": "x"})
    assert RequestIdFilter().filter(record) is True
    assert tagged([record]) == ["-"]


def test_app_logger_gets_the_request_id_without_setup(
    fresh_app: Flask, root_records: t.Callable[..., Records]
) -> None:
    app = fresh_app
    records = root_records(app.logger.name, with_filter=False)

    @app.get("/log")
    def log() -> str:
        app.logger.warning("in the view")
        return "ok"

    client = start(app, RequestLog())
    response = get(client, "/log", headers={"X-Request-ID": "auto-1"})
    assert response.status_code == 200
    app.logger.warning("after the request")
    found = records.by_message()
    assert tagged(found["in the view"]) == ["auto-1"]
    assert tagged(found["after the request"]) == ["-"]
    assert sum(isinstance(f, RequestIdFilter) for f in app.logger.filters) == 1


def test_flask_exception_log_carries_the_request_id(
    fresh_app: Flask, root_records: t.Callable[..., Records]
) -> None:
    app = fresh_app
    records = root_records(app.logger.name, with_filter=False)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    client = start(app, RequestLog())
    response = get(client, "/boom")
    assert response.status_code == 500
    (record,) = [r for r in records.records if r.exc_info]
    assert tagged([record]) == [response.headers["X-Request-ID"]]


def test_concurrent_requests_keep_their_own_id_on_log_records(
    fresh_app: Flask,
    root_records: t.Callable[..., Records],
    tmp_path: Path,
    live_server: LiveServers,
    http_client: t.Any,
) -> None:
    app = fresh_app
    library = logging.getLogger("somelib")
    overlap = threading.Barrier(4, timeout=5)

    @app.get("/work")
    def work() -> str:
        marker = request.args["n"]
        app.logger.warning("start %s", marker)
        if marker.endswith("-0"):
            overlap.wait()  # the first request of each client runs alongside the others
        time.sleep(0.002)
        library.warning("middle %s", marker)
        app.logger.warning("end %s", marker)
        return str(g.request_id)

    records = root_records(app.logger.name, "somelib")
    reqlog = RequestLog()
    reqlog.init_app(app)
    server = http_client(live_server(app))
    with ThreadPoolExecutor(4) as pool:
        batches = list(
            pool.map(
                lambda client: (
                    client,
                    server.get_many([f"/work?n={client}-{i}" for i in range(25)]),
                ),
                range(4),
            )
        )
    live_server.stop()
    found = records.by_message()
    ids = set()
    for client, answers in batches:
        for i, (status, headers, body) in enumerate(answers):
            assert status == 200
            request_id = headers["X-Request-ID"]
            assert body == request_id
            ids.add(request_id)
            for step in ("start", "middle", "end"):
                assert tagged(found[f"{step} {client}-{i}"]) == [request_id], (step, client, i)
    assert len(ids) == 100
    assert reqlog.flush(app, timeout=10)
    logged = (tmp_path / "access.log").read_text("utf-8").split()
    assert sorted(logged) == sorted(ids)
