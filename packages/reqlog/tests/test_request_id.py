"""Request ids: kept when safe, made when not, echoed, on ``g``, in the access log and on
the app's own log records, one per request even across threads."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
import subprocess
import sys
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


def readme_quick_start() -> tuple[str, str]:
    """The README's quick start and the record it says a request to ``/`` prints."""
    readme = Path(__file__).resolve().parents[1] / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
    else:  # testing the installed wheel (dist:check): its description is the README
        text = importlib.metadata.metadata("flask-plug-reqlog").json["description"]
    section = text.partition("## Quick start\n")[2]
    code = section.partition("```python\n")[2].partition("```")[0]
    shown = section.partition("```text\n")[2].partition("```")[0]
    return code, shown.strip()


def test_the_readme_quick_start_prints_the_apps_record_with_the_request_id(
    tmp_path: Path,
) -> None:
    # As app.py in a process of its own: the quick start configures logging, which is the
    # process's (under pytest, basicConfig would find pytest's handlers and do nothing).
    code, shown = readme_quick_start()
    assert re.fullmatch(NEW_ID.pattern + " INFO app: hello", shown), shown
    (tmp_path / "app.py").write_text(code, encoding="utf-8")
    client = (
        "from app import create_app\n"
        "with create_app().test_client().get('/') as response:\n"
        "    print(response.headers['X-Request-ID'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", client], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    request_id = result.stdout.strip()
    assert result.stderr.splitlines() == [f"{request_id} INFO app: hello"]


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


# Ids read from other headers: REQLOG_REQUEST_ID_FROM

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
AMZN_ROOT = "1-5759e988-bd862e3fe1be46a994272793"
EVERY_FORM = ["X-Request-ID", "X-Correlation-ID", "X-Amzn-Trace-Id", "traceparent"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"X-Correlation-ID": "corr-1"}, "corr-1", id="correlation-id"),
        pytest.param({"traceparent": TRACEPARENT}, TRACE_ID, id="traceparent"),
        pytest.param(
            {"traceparent": f"01-{TRACE_ID}-00f067aa0ba902b7-01-future-field"},
            TRACE_ID,
            id="traceparent-later-version",
        ),
        pytest.param(
            {"X-Amzn-Trace-Id": f"Root={AMZN_ROOT};Parent=53995c3f42cd8ad8;Sampled=1"},
            AMZN_ROOT,
            id="amzn",
        ),
        pytest.param(
            {"X-Amzn-Trace-Id": f"Self=1-67891234-abcdef012345678912345678;Root={AMZN_ROOT}"},
            AMZN_ROOT,
            id="amzn-behind-two-balancers",
        ),
        pytest.param(
            {"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1", "traceparent": TRACEPARENT},
            "req-1",
            id="first-listed-wins",
        ),
        pytest.param(
            {"X-Request-ID": "bad id", "traceparent": TRACEPARENT},
            TRACE_ID,
            id="invalid-first-falls-through",
        ),
    ],
)
def test_ids_are_read_from_the_listed_headers_in_order(
    app: Flask, reqlog: RequestLog, read_log: t.Any, headers: dict[str, str], expected: str
) -> None:
    client = start(app, reqlog, format="%L", request_id_from=EVERY_FORM)
    response = get(client, headers=headers)
    assert response.headers["X-Request-ID"] == expected
    assert response.json == {"request_id": expected}
    assert read_log() == [expected]


@pytest.mark.parametrize(
    "traceparent",
    [
        pytest.param(f"ff-{TRACE_ID}-00f067aa0ba902b7-01", id="version-ff"),
        pytest.param(f"00-{'0' * 32}-00f067aa0ba902b7-01", id="zero-trace-id"),
        pytest.param(f"00-{TRACE_ID}-{'0' * 16}-01", id="zero-parent-id"),
        pytest.param(f"00-{TRACE_ID.upper()}-00f067aa0ba902b7-01", id="upper-case"),
        pytest.param(f"00-{TRACE_ID}-00f067aa0ba902b7-01-extra", id="version-00-with-more"),
        pytest.param(f"00-{TRACE_ID[:-1]}-00f067aa0ba902b7-01", id="short-trace-id"),
        pytest.param(f"00_{TRACE_ID}_00f067aa0ba902b7_01", id="underscores"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_traceparent_gets_a_new_id(
    app: Flask, reqlog: RequestLog, traceparent: str
) -> None:
    client = start(app, reqlog, request_id_from=["traceparent"])
    response = get(client, **{"environ_overrides": {"HTTP_TRACEPARENT": traceparent}})
    assert response.status_code == 200
    assert NEW_ID.fullmatch(response.headers["X-Request-ID"])
    assert response.headers["X-Request-ID"] != TRACE_ID


@pytest.mark.parametrize(
    "amzn",
    [
        "Self=1-5759e988-bd862e3fe1be46a994272793",
        "Root=1-5759e988-bd862e3fe1be46a99427279",
        "Root=2-5759e988-bd862e3fe1be46a994272793",
        'Root=1-5759e988-bd862e3fe1be46a994272793"',
        "Root=",
        "Root",
        ";;;",
    ],
)
def test_malformed_amzn_trace_id_gets_a_new_id(app: Flask, reqlog: RequestLog, amzn: str) -> None:
    client = start(app, reqlog, request_id_from=["X-Amzn-Trace-Id"])
    response = get(client, headers={"X-Amzn-Trace-Id": amzn})
    assert response.status_code == 200
    assert NEW_ID.fullmatch(response.headers["X-Request-ID"])


def test_only_listed_headers_are_read(app: Flask, reqlog: RequestLog) -> None:
    client = start(app, reqlog, request_id_from=["traceparent"])
    response = get(client, headers={"X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"})
    assert NEW_ID.fullmatch(response.headers["X-Request-ID"])
    assert get(client, headers={"traceparent": TRACEPARENT}).headers["X-Request-ID"] == TRACE_ID


def test_the_id_is_echoed_in_the_request_id_header(app: Flask, reqlog: RequestLog) -> None:
    app.config["REQLOG_REQUEST_ID_HEADER"] = "X-Correlation-ID"
    app.config["REQLOG_REQUEST_ID_FROM"] = ["X-Correlation-ID", "traceparent"]
    client = start(app, reqlog)
    response = get(client, headers={"traceparent": TRACEPARENT})
    assert response.headers["X-Correlation-ID"] == TRACE_ID
    assert "X-Request-ID" not in response.headers


def test_listing_headers_while_not_trusting_them_is_refused(app: Flask, reqlog: RequestLog) -> None:
    app.config["REQLOG_TRUST_REQUEST_ID"] = False
    with pytest.raises(ValueError, match=r"^REQLOG_REQUEST_ID_FROM .*REQLOG_TRUST_REQUEST_ID"):
        reqlog.init_app(app, request_id_from=["traceparent"])


def test_untrusted_ids_are_read_from_no_header(app: Flask, reqlog: RequestLog) -> None:
    app.config["REQLOG_TRUST_REQUEST_ID"] = False
    client = start(app, reqlog)
    assert reqlog.settings(app).request_id_from == ()
    response = get(client, headers={"X-Request-ID": "req-1", "traceparent": TRACEPARENT})
    assert NEW_ID.fullmatch(response.headers["X-Request-ID"])


@pytest.fixture
def client_reading(tmp_path: Path) -> t.Iterator[t.Callable[[str], FlaskClient]]:
    """A client of an app that reads ids from one header, one app per header."""
    reqlog = RequestLog()
    apps: dict[str, Flask] = {}

    def client(header: str) -> FlaskClient:
        if header not in apps:
            app = apps[header] = Flask(__name__, instance_path=str(tmp_path))

            @app.get("/")
            def index() -> dict[str, str]:
                return {"request_id": g.request_id}

            reqlog.init_app(app, output=str(tmp_path / "access.log"), request_id_from=[header])
        return apps[header].test_client()

    yield client
    for app in apps.values():
        reqlog.close(app)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    form=st.sampled_from(EVERY_FORM),
    value=st.text(st.characters(max_codepoint=0xFF), max_size=200)
    | st.builds(
        "{}-{}-{}-{}{}".format,
        st.sampled_from(["00", "00", "01", "fe", "ff", "0g"]),
        st.from_regex(r"[0-9a-f]{32}", fullmatch=True)
        | st.from_regex(r"[0-9a-f]{31}|[0-9a-f]{33}", fullmatch=True)
        | st.just("0" * 32),
        st.from_regex(r"[0-9a-f]{16}", fullmatch=True) | st.just("0" * 16),
        st.from_regex(r"[0-9a-f]{2}", fullmatch=True),
        st.sampled_from(["", "", "-x", "x"]),
    )
    | st.builds(
        "{}Root={}{}".format,
        st.sampled_from(["", "Self=x;", " ", "Parent=1;"]),
        st.from_regex(r"1-[0-9a-f]{8}-[0-9a-f]{24}", fullmatch=True)
        | st.from_regex(r"1-[0-9a-f]{7,9}-[0-9a-f]{23,25}", fullmatch=True),
        st.sampled_from(["", ";Sampled=1", " ", "x"]),
    ),
)
def test_any_incoming_header_gives_a_valid_id_never_an_error(
    client_reading: t.Callable[[str], FlaskClient], form: str, value: str
) -> None:
    client = client_reading(form)
    key = "HTTP_" + form.upper().replace("-", "_")
    response = get(client, **{"environ_overrides": {key: value}})
    assert response.status_code == 200
    request_id = response.headers["X-Request-ID"]
    assert response.json == {"request_id": request_id}
    if form == "traceparent":
        # What W3C Trace Context accepts, and nothing else, gives its trace id.
        match = re.fullmatch(
            r"[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(-.*)?[ \t]*", value
        )
        accepted = (
            match is not None
            and match[1] != "ff"
            and not (match[1] == "00" and match[4] is not None)
            and match[2] != "0" * 32
            and match[3] != "0" * 16
        )
        assert request_id == (match[2] if accepted and match else request_id)
        assert accepted or NEW_ID.fullmatch(request_id)
    elif form == "X-Amzn-Trace-Id":
        roots = re.findall(r"(?:^|;)\s*Root=\s*(1-[0-9a-f]{8}-[0-9a-f]{24})\s*(?:;|$)", value)
        assert request_id in roots or NEW_ID.fullmatch(request_id)
    else:
        assert request_id == value if re.fullmatch(SAFE_ID, value) else NEW_ID.fullmatch(request_id)
