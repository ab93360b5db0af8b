"""What a hostile client sends: random methods, paths, header values and bodies.

None of it may answer 500 or break the ``Server-Timing`` grammar; every ``TIMER_LOG``
record is one line of printable text; and nothing grows memory per request.
"""

from __future__ import annotations

import gc
import logging
import tracemalloc

from flask import Flask, request
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_plug.timer import Timer

from .conftest import parse_server_timing

# WSGI strings stand for bytes: any Latin-1 text, control characters included.
latin1 = st.text(st.characters(max_codepoint=0xFF), max_size=80)
long_latin1 = st.builds(lambda c, n: c * n, st.characters(max_codepoint=0xFF), st.integers(1, 9000))
methods = st.one_of(
    st.sampled_from(["GET", "POST", "HEAD", "PUT", "OPTIONS", "PROPFIND", "get"]),
    st.text(st.characters(max_codepoint=0xFF), min_size=1, max_size=20),
)
paths = st.one_of(
    st.sampled_from(["/", "/spans", "/echo", "/missing"]),
    st.builds(lambda text: "/" + text, st.one_of(latin1, long_latin1)),
)


class Lines(logging.Handler):
    """Formats every record it gets, and keeps the messages while ``keep`` is true."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []
        self.keep = True

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if self.keep:
            self.messages.append(message)


def make_app() -> tuple[Flask, Lines]:
    app = Flask(__name__)
    app.config.update(PROPAGATE_EXCEPTIONS=False, TIMER_LOG=True, TIMER_SPANS=True)
    timer = Timer(app, response_time_header=True)

    @app.route("/", methods=["GET", "POST", "PUT"])
    def index() -> str:
        return "ok"

    @app.get("/spans")
    def spans() -> str:
        with timer.span("db", desc='query "users" \\ café'), timer.span("render"):
            pass
        return "spans"

    @app.route("/echo", methods=["GET", "POST"])
    def echo() -> dict[str, int]:
        return {"length": len(request.get_data())}

    lines = Lines()
    app.logger.addHandler(lines)
    app.logger.setLevel(logging.DEBUG)
    return app, lines


APP, LINES = make_app()


@settings(max_examples=300, deadline=None)
@given(
    method=methods,
    path=paths,
    headers=st.dictionaries(
        st.sampled_from(["HTTP_USER_AGENT", "HTTP_REFERER", "HTTP_X_ANYTHING", "HTTP_COOKIE"]),
        st.one_of(latin1, long_latin1),
    ),
    body=st.binary(max_size=2000),
)
def test_any_request_is_timed_and_logged_on_one_printable_line(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    LINES.messages.clear()
    environ = {"PATH_INFO": path, "REQUEST_METHOD": method, **headers}
    with APP.test_client().open("/", data=body, environ_overrides=environ) as response:
        response.get_data()
    assert response.status_code < 500
    metrics = parse_server_timing(*response.headers.getlist("Server-Timing"))
    assert metrics[0]["name"] == "app"
    assert response.headers["X-Response-Time"] == metrics[0]["dur"] + "ms"
    [line] = LINES.messages
    assert line.isprintable(), line
    method_shown, path_shown, status, duration, unit = line.split(" ")
    assert (status, unit) == (str(response.status_code), "ms")
    assert len(path_shown) <= 800 and len(method_shown) <= 800


def test_random_requests_do_not_grow_memory() -> None:
    app, lines = make_app()
    # Formatted and dropped: a list of lines, or pytest's own capture of every record,
    # would be the growth measured.
    lines.keep = False
    app.logger.propagate = False
    client = app.test_client()

    def attack(start: int, count: int) -> None:
        for i in range(start, start + count):
            with client.open(
                f"/p{i}/%0A%1B[31m{i}",
                method="GET" if i % 3 else f"M{i}",
                headers={"X-Anything": f"v{i}" * 100},
            ) as response:
                response.get_data()
            with client.get("/spans") as response:
                response.get_data()

    attack(0, 300)
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        attack(10_000, 1000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 256 * 1024, f"{grown} bytes retained"
