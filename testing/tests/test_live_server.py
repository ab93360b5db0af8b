"""The live_server fixture: real HTTP on a free port, stopped once its requests are done."""

from __future__ import annotations

import logging
import threading
import typing as t
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from flask import Flask

if t.TYPE_CHECKING:
    from flask_plug_testing import LiveServers


def test_serves_the_app_on_a_free_port_of_localhost(live_server: LiveServers) -> None:
    app = Flask(__name__)
    app.get("/")(lambda: "hello")
    first, second = live_server(app), live_server(app)
    assert first.startswith("http://127.0.0.1:") and first != second
    for url in (first, second):
        with urllib.request.urlopen(url + "/", timeout=10) as response:
            assert response.read() == b"hello"


def test_writes_no_request_lines(live_server: LiveServers) -> None:
    werkzeug_logger = logging.getLogger("werkzeug")
    handlers = list(werkzeug_logger.handlers)
    app = Flask(__name__)
    app.get("/")(lambda: "hello")
    with urllib.request.urlopen(live_server(app) + "/", timeout=10) as response:
        response.read()
    live_server.stop()
    assert werkzeug_logger.handlers == handlers


def test_stop_waits_for_the_responses_to_be_closed(live_server: LiveServers) -> None:
    closed: list[int] = []
    lock = threading.Lock()

    def app(environ: dict[str, t.Any], start_response: t.Callable[..., t.Any]) -> t.Any:
        start_response("200 OK", [("Content-Length", "2")])

        def body() -> t.Iterator[bytes]:
            try:
                yield b"ok"
            finally:
                threading.Event().wait(0.2)  # after the client has its response
                with lock:
                    closed.append(1)

        return body()

    url = live_server(app)

    def get(_: int) -> bytes:
        with urllib.request.urlopen(url, timeout=10) as response:
            return t.cast(bytes, response.read())

    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(get, range(8))) == [b"ok"] * 8
    live_server.stop()
    assert len(closed) == 8
