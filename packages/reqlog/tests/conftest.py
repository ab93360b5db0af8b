from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from flask import Flask, Response, abort, g

from flask_plug.reqlog import RequestLog


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
def client(app: Flask, reqlog: RequestLog) -> t.Any:
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
