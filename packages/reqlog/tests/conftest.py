from __future__ import annotations

import http.client
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, Response, abort, g

from flask_plug.reqlog import RequestLog

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


@pytest.fixture
def reqlog() -> RequestLog:
    return RequestLog()


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "access.log"


@pytest.fixture
def app(reqlog: RequestLog, log_path: Path) -> t.Iterator[Flask]:
    app = Flask(__name__, instance_path=str(log_path.parent.parent / "instance"))
    app.config["REQLOG_OUTPUT"] = str(log_path)

    @app.get("/")
    def index() -> dict[str, str]:
        return {"request_id": g.request_id}

    @app.get("/stream")
    def stream() -> Response:
        return Response(b"x" * 1000 for _ in range(10))

    @app.get("/forbidden")
    def forbidden() -> None:
        abort(403)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    yield app
    if "flask-plug-reqlog" in app.extensions:
        reqlog.close(app)


@pytest.fixture
def client(app: Flask, reqlog: RequestLog) -> FlaskClient:
    if "flask-plug-reqlog" not in app.extensions:
        reqlog.init_app(app)
    return app.test_client()


@pytest.fixture
def read_log(app: Flask, reqlog: RequestLog, log_path: Path) -> t.Callable[[], list[str]]:
    """Wait for the writer thread, then return the log file's lines."""

    def read() -> list[str]:
        assert reqlog.flush(app, timeout=10)
        if not log_path.exists():
            return []
        return log_path.read_text("utf-8").splitlines()

    return read


class HTTPClient:
    """GETs to a live server (the ``live_server`` fixture's), on keep-alive connections."""

    def __init__(self, base_url: str) -> None:
        address = urlsplit(base_url)
        self.host, self.port = address.hostname or "127.0.0.1", address.port

    def get_many(
        self, paths: list[str], headers: dict[str, str] | None = None
    ) -> list[tuple[int, dict[str, str], str]]:
        """Status, headers and body of each path, in order, on one keep-alive connection."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        answers = []
        try:
            for path in paths:
                connection.request("GET", path, headers=headers or {})
                with connection.getresponse() as response:
                    body = response.read().decode()
                    answers.append((response.status, dict(response.getheaders()), body))
        finally:
            connection.close()
        return answers

    def request_ids(self, count: int, path: str = "/") -> list[str]:
        """The X-Request-ID of ``count`` successful GETs on one keep-alive connection."""
        answers = self.get_many([path] * count)
        assert all(status == 200 for status, _, _ in answers)
        return [headers["X-Request-ID"] for _, headers, _ in answers]


@pytest.fixture
def http_client() -> type[HTTPClient]:
    """``http_client(live_server(app))``; ``live_server.stop()`` then waits for every
    request to have finished (and queued its line)."""
    return HTTPClient
