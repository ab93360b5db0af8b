"""What a hostile client sends: random methods, paths, queries, header values and bodies.

None of it may answer 500; every request is exactly one line, of printable ASCII only,
whatever the format; no secret reaches a line; and neither memory nor the writer's queue
grows without bound, even when the writer cannot keep up.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import tracemalloc
import typing as t
from urllib.parse import urlencode

import pytest
from flask import Flask, redirect, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flask_plug.reqlog import RequestLog
from flask_plug.reqlog.entry import LogEntry

if t.TYPE_CHECKING:
    from pathlib import Path

    from werkzeug.wrappers import Response

SECRET = "s3cr3t-VALUE"
EVERY_ATOM = (
    '%h %l %u %t "%r" %m "%U" "%q" %H %s %>s %b %B %D %T %{ms}T %{us}T %L'
    ' "%{User-Agent}i" "%{Referer}i" "%{X-Anything}i" "%{Authorization}i" "%{Location}o"'
)
LINE_FORMATS = ["combined", "common", EVERY_ATOM]
PRINTABLE_ASCII = frozenset(map(chr, range(0x20, 0x7F)))

# WSGI strings stand for bytes: any Latin-1 text, control characters included. Servers
# refuse some of these; an upstream proxy or another middleware may still pass them on.
# Free text never holds SECRET: Hypothesis also draws the constants of the test module, and
# a value sent under no secret name is logged as sent, by design.
latin1 = st.text(st.characters(max_codepoint=0xFF), max_size=80).filter(
    lambda text: SECRET not in text
)
# A misbehaving layer may even put text beyond Latin-1 in a header (Werkzeug itself
# refuses it in the path and the query, so those stay Latin-1).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40).filter(
    lambda text: SECRET not in text
)
long_latin1 = st.builds(lambda c, n: c * n, st.characters(max_codepoint=0xFF), st.integers(1, 9000))
header_values = st.one_of(latin1, any_text, long_latin1)
methods = st.one_of(
    st.sampled_from(["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PROPFIND", "get"]),
    st.text(st.characters(max_codepoint=0xFF), min_size=1, max_size=20),
)
paths = st.one_of(
    st.sampled_from(["/", "/redirect", "/echo", "/boom", "/missing"]),
    st.builds(lambda text: "/" + text, latin1),
)
queries = st.one_of(
    latin1,
    st.builds(
        lambda name, value: f"{name}={value}&page=1",
        st.sampled_from(["token", "code", "password", "api_key", "X-Amz-Signature", "sig"]),
        st.just(SECRET),
    ),
)


def make_app(tmp_path: Path, reqlog: RequestLog, log_format: str, **options: t.Any) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a view's bug is a 500 the log must survive

    @app.route("/", methods=["GET", "POST", "PUT"])
    def index() -> str:
        return "ok"

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> dict[str, int]:
        return {"length": len(request.get_data())}

    @app.get("/redirect")
    def to_callback() -> Response:
        # An OAuth server's redirect: a secret code, and hostile text beside it in Location.
        # Not the client's query: one carrying `token=s3cr3t-VALUE` would come back as the
        # value of `state`, a name that is no secret, and be logged as sent, by design.
        state = request.headers.get("X-Anything", "")
        return redirect("/cb?" + urlencode({"code": SECRET, "state": state}))

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    options.setdefault("output", str(tmp_path / f"{id(app)}.log"))
    reqlog.init_app(app, format=log_format, **options)
    return app


class LogReader:
    """The lines written since the last call."""

    def __init__(self, app: Flask, reqlog: RequestLog, path: Path) -> None:
        self.app, self.reqlog, self.path, self.offset = app, reqlog, path, 0

    def new_lines(self) -> list[str]:
        assert self.reqlog.flush(self.app, timeout=10)
        if not self.path.exists():
            return []
        with self.path.open("rb") as file:
            file.seek(self.offset)
            data = file.read()
        self.offset += len(data)
        assert data.endswith(b"\n")
        return data[:-1].decode("ascii").split("\n")


@pytest.fixture(params=[*LINE_FORMATS, "json"], ids=["combined", "common", "every-atom", "json"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[tuple[Flask, LogReader]]:
    reqlog = RequestLog()
    app = make_app(tmp_path, reqlog, request.param)
    yield app, LogReader(app, reqlog, tmp_path / f"{id(app)}.log")
    reqlog.close(app)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=methods,
    path=paths,
    query=queries,
    user=st.one_of(st.none(), latin1, any_text),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "HTTP_USER_AGENT",
                "HTTP_REFERER",
                "HTTP_X_ANYTHING",
                "HTTP_AUTHORIZATION",
                "HTTP_X_REQUEST_ID",
                "HTTP_COOKIE",
            ]
        ),  # fmt: skip
        header_values,
    ),
    body=st.binary(max_size=2000),
)
def test_any_request_is_one_printable_line_without_secrets(
    served: tuple[Flask, LogReader],
    method: str,
    path: str,
    query: str,
    user: str | None,
    headers: dict[str, str],
    body: bytes,
) -> None:
    app, log = served
    environ = {"PATH_INFO": path, "QUERY_STRING": query, "REQUEST_METHOD": method, **headers}
    if user is not None:
        environ["REMOTE_USER"] = user
    with app.test_client().open("/", data=body, environ_overrides=environ) as response:
        response.get_data()
        assert response.status_code < 500 or path == "/boom"
    (line,) = log.new_lines()
    assert set(line) <= PRINTABLE_ASCII, line
    assert SECRET not in line
    if line.startswith("{"):
        assert json.loads(line)["status"] == response.status_code


def test_many_new_names_do_not_grow_memory(tmp_path: Path) -> None:
    """Each request has its own method, path, query names and header values; the only
    cache of client data (secret-or-not per name) stops growing at its bound."""
    reqlog = RequestLog()
    app = make_app(tmp_path, reqlog, EVERY_ATOM)
    client = app.test_client()

    def attack(start: int, count: int) -> None:
        for i in range(start, start + count):
            query = "&".join(f"n{i}x{k}=v" for k in range(4))
            with client.get(
                f"/p{i}?{query}",
                headers={"User-Agent": f"ua{i}" * 50, "X-Anything": "\x1b[31m" * 20},
                method="GET" if i % 2 else f"M{i}",
            ) as response:
                response.get_data()
        assert reqlog.flush(app, timeout=30)

    attack(0, 1500)  # 6000 names: fills the name cache past its bound
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        attack(10_000, 1500)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
        reqlog.close(app)
    assert grown < 256 * 1024, f"{grown} bytes retained"


def test_a_flushed_writer_holds_no_request(tmp_path: Path) -> None:
    """Once its lines are written, nothing of a burst of requests stays with the writer
    thread (each entry holds its request's whole environ) until the next request comes."""
    reqlog = RequestLog()
    app = make_app(tmp_path, reqlog, "combined", flush_interval=5)
    marker = f"burst-{id(app)}"
    client = app.test_client()
    try:
        for _ in range(20):
            with client.get("/", headers={"X-Anything": marker}) as response:
                response.get_data()
        assert reqlog.flush(app, timeout=10)
        gc.collect()
        held = [
            entry
            for entry in gc.get_objects()
            # type(), not isinstance(): gc also lists weak proxies, whose dead referents
            # raise ReferenceError on the __class__ lookup isinstance makes.
            if type(entry) is LogEntry and entry.environ.get("HTTP_X_ANYTHING") == marker
        ]
        assert held == []
    finally:
        reqlog.close(app)


class BlockedHandler(logging.Handler):
    """A handler on a disk that hangs: it writes nothing until released."""

    def __init__(self) -> None:
        super().__init__()
        self.unblocked = threading.Event()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.unblocked.wait(30)
        self.lines.append(record.getMessage())


def test_writer_queue_is_bounded_when_the_writer_is_stuck(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    handler = BlockedHandler()
    logger = logging.getLogger("test_reqlog_adversarial.blocked")
    logger.propagate = False
    logger.addHandler(handler)
    reqlog = RequestLog()
    app = make_app(tmp_path, reqlog, "%m %U", output=logger, queue_size=50)
    client = app.test_client()
    try:
        with caplog.at_level(logging.WARNING, logger="flask_plug.reqlog"):
            for i in range(1000):
                with client.get(f"/p{i}") as response:
                    response.get_data()
            assert app.extensions["flask-plug-reqlog"].writer.queued() <= 50
            handler.unblocked.set()
            assert reqlog.flush(app, timeout=30)
    finally:
        handler.unblocked.set()
        reqlog.close(app)
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in caplog.records if r.name == "flask_plug.reqlog"]
    assert warnings and all(w.startswith("dropped ") for w in warnings), warnings
    dropped = sum(int(w.split()[1]) for w in warnings)
    # Every request is either written or counted as dropped, none twice.
    assert len(handler.lines) + dropped == 1000
    assert len(handler.lines) <= 50 + 100  # the queue, plus the batch the writer is stuck on
    assert len(set(handler.lines)) == len(handler.lines)
