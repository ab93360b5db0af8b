"""Where lines go: standard streams, loggers, files; and files rotated by size or time,
or moved away by logrotate, without losing, splitting or repeating a line."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import time
import typing as t
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from flask_plug.reqlog import RequestLog

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

    from flask_plug_testing import LiveServers

EXTENSION_KEY = "flask-plug-reqlog"


@pytest.fixture
def make_app(tmp_path: Path) -> t.Iterator[t.Callable[..., Flask]]:
    """New apps with a ``/`` view and the given config; registered ones are closed after."""
    apps: list[Flask] = []

    def make(**config: t.Any) -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"), static_folder=None)
        app.config.update(config)
        app.get("/")(lambda: "ok")
        apps.append(app)
        return app

    yield make
    for app in apps:
        if EXTENSION_KEY in app.extensions:
            RequestLog().close(app)


def get(client: FlaskClient, path: str = "/", **kwargs: t.Any) -> str:
    """The request id of a GET whose body was read and which was closed."""
    with client.get(path, **kwargs) as response:
        response.get_data()
        return response.headers["X-Request-ID"]


def lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines() if path.exists() else []


def all_lines(log_path: Path) -> list[str]:
    """The lines of the log and of every rotated file next to it."""
    found = []
    for path in log_path.parent.glob(log_path.name + "*"):
        found.extend(lines(path))
    return found


def hammer(
    live_server: LiveServers,
    http_client: t.Any,
    app: Flask,
    clients: int,
    each: int,
    path: str = "/",
) -> list[str]:
    """``clients`` threads making ``each`` requests at once to a live server; every request
    has finished (and queued its line) on return."""
    server = http_client(live_server(app))
    with ThreadPoolExecutor(clients) as pool:
        batches = list(pool.map(lambda _: server.request_ids(each, path), range(clients)))
    live_server.stop()
    return [request_id for batch in batches for request_id in batch]


# Standard streams


@pytest.mark.parametrize("output", ["stdout", "-"])
def test_stdout_output(
    make_app: t.Callable[..., Flask], capsys: pytest.CaptureFixture[str], output: str
) -> None:
    app = make_app(REQLOG_OUTPUT=output, REQLOG_FORMAT="%L %>s")
    reqlog = RequestLog(app)
    client = app.test_client()
    ids = [get(client), get(client, "/missing")]
    assert reqlog.flush(app, timeout=10)
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{ids[0]} 200", f"{ids[1]} 404"]
    assert captured.err == ""


def test_stderr_output(make_app: t.Callable[..., Flask], capfd: pytest.CaptureFixture[str]) -> None:
    app = make_app(REQLOG_OUTPUT="stderr", REQLOG_FORMAT="%L")
    reqlog = RequestLog(app)
    request_id = get(app.test_client())
    assert reqlog.flush(app, timeout=10)
    captured = capfd.readouterr()
    assert captured.err.splitlines() == [request_id]
    assert captured.out == ""


def test_stdout_output_follows_a_replaced_sys_stdout(
    make_app: t.Callable[..., Flask], capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app(REQLOG_OUTPUT="stdout", REQLOG_FORMAT="%L")
    reqlog = RequestLog(app)
    client = app.test_client()
    first = get(client)
    assert reqlog.flush(app, timeout=10)
    replaced = io.StringIO()
    with contextlib.redirect_stdout(replaced):
        second = get(client)
        assert reqlog.flush(app, timeout=10)
    third = get(client)
    assert reqlog.flush(app, timeout=10)
    assert replaced.getvalue().splitlines() == [second]
    assert capsys.readouterr().out.splitlines() == [first, third]


# Loggers


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def access_logger() -> t.Iterator[tuple[logging.Logger, Records]]:
    """A logger of its own at INFO, its records kept, not propagated."""
    logger = logging.getLogger(f"reqlog.tests.access.{uuid.uuid4().hex}")
    records = Records()
    logger.addHandler(records)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, records
    logger.removeHandler(records)
    records.close()


@pytest.mark.parametrize("by", ["name", "instance", "config instance"])
def test_logger_output_gets_one_info_record_per_line(
    make_app: t.Callable[..., Flask],
    access_logger: tuple[logging.Logger, Records],
    by: str,
) -> None:
    logger, records = access_logger
    output: str | logging.Logger = f"logger:{logger.name}" if by == "name" else logger
    if by == "config instance":
        app = make_app(REQLOG_OUTPUT=output, REQLOG_FORMAT="%L %>s")
        reqlog = RequestLog(app)
    else:
        app = make_app(REQLOG_FORMAT="%L %>s")
        reqlog = RequestLog(app, output=output)
    client = app.test_client()
    ids = [get(client) for _ in range(20)] + [get(client, "/missing")]
    assert reqlog.flush(app, timeout=10)
    assert [r.getMessage() for r in records.records] == [f"{i} 200" for i in ids[:-1]] + [
        f"{ids[-1]} 404"
    ]
    assert [vars(r)["request_id"] for r in records.records] == ids
    assert {(r.name, r.levelno) for r in records.records} == {(logger.name, logging.INFO)}


def test_logger_output_honours_the_logger_level(
    make_app: t.Callable[..., Flask], access_logger: tuple[logging.Logger, Records]
) -> None:
    logger, records = access_logger
    logger.setLevel(logging.WARNING)
    app = make_app(REQLOG_FORMAT="%L")
    reqlog = RequestLog(app, output=logger)
    client = app.test_client()
    get(client)
    assert reqlog.flush(app, timeout=10)
    assert records.records == []
    logger.setLevel(logging.INFO)
    request_id = get(client)
    assert reqlog.flush(app, timeout=10)
    assert [r.getMessage() for r in records.records] == [request_id]


def test_logger_output_with_a_formatted_file_handler(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    logger = logging.getLogger(f"reqlog.tests.file.{uuid.uuid4().hex}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(tmp_path / "app.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(request_id)s %(message)s"))
    logger.addHandler(handler)
    try:
        app = make_app(REQLOG_FORMAT="%U %>s")
        reqlog = RequestLog(app, output=logger)
        request_id = get(app.test_client(), "/")
        assert reqlog.flush(app, timeout=10)
    finally:
        logger.removeHandler(handler)
        handler.close()
    assert lines(tmp_path / "app.log") == [f"INFO {request_id} / 200"]


# Files


def test_file_output_appends(make_app: t.Callable[..., Flask], tmp_path: Path) -> None:
    log_path = tmp_path / "access.log"
    log_path.write_text("earlier line\n", "utf-8")
    app = make_app(REQLOG_OUTPUT=str(log_path), REQLOG_FORMAT="%L")
    reqlog = RequestLog(app)
    client = app.test_client()
    ids = [get(client) for _ in range(5)]
    assert reqlog.flush(app, timeout=10)
    assert lines(log_path) == ["earlier line", *ids]


def test_file_output_is_utf8_and_one_line_per_request(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(REQLOG_OUTPUT=str(log_path), REQLOG_FORMAT="json")
    reqlog = RequestLog(app)
    client = app.test_client()
    for _ in range(3):
        get(client, "/", environ_overrides={"HTTP_USER_AGENT": "caf\xc3\xa9\nbot\r\n"})
    assert reqlog.flush(app, timeout=10)
    assert len(lines(log_path)) == 3
    assert log_path.read_bytes().count(b"\n") == 3


def test_size_rotation_under_concurrent_requests_loses_no_line(
    make_app: t.Callable[..., Flask], tmp_path: Path, live_server: LiveServers, http_client: t.Any
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(
        REQLOG_OUTPUT=str(log_path),
        REQLOG_FORMAT="%L %>s %U %{ms}T",
        REQLOG_MAX_BYTES=2000,
        REQLOG_BACKUP_COUNT=1000,
    )
    reqlog = RequestLog(app)

    @app.get("/slow")
    def slow() -> str:
        time.sleep(0.005)  # 100 requests a client span several of the writer's batches
        return "ok"

    ids = hammer(live_server, http_client, app, clients=8, each=100, path="/slow")
    assert reqlog.flush(app, timeout=10)

    assert len(ids) == len(set(ids)) == 800
    logged = all_lines(log_path)
    assert len(logged) == 800
    for line in logged:
        request_id, status, path, duration = line.split(" ")
        assert (status, path) == ("200", "/slow"), line
        float(duration)
    assert sorted(line.split(" ")[0] for line in logged) == sorted(ids)
    backups = [p for p in tmp_path.glob("access.log.*") if p.stat().st_size]
    assert len(backups) >= 2


def test_size_rotated_files_stay_within_max_bytes(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(
        REQLOG_OUTPUT=str(log_path),
        REQLOG_FORMAT="%L %{User-Agent}i",
        REQLOG_MAX_BYTES=2000,
        REQLOG_BACKUP_COUNT=1000,
    )
    reqlog = RequestLog(app)
    client = app.test_client()
    for _ in range(40):
        get(client, headers={"User-Agent": "x" * 500})
    assert reqlog.flush(app, timeout=10)
    assert len(all_lines(log_path)) == 40
    sizes = {p.name: p.stat().st_size for p in tmp_path.glob("access.log*")}
    assert max(sizes.values()) <= 2000, sizes


def test_time_rotation_loses_no_line(make_app: t.Callable[..., Flask], tmp_path: Path) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(
        REQLOG_OUTPUT=str(log_path),
        REQLOG_FORMAT="%L",
        REQLOG_ROTATE_WHEN="S",
        REQLOG_BACKUP_COUNT=100,
    )
    reqlog = RequestLog(app)
    client = app.test_client()
    ids = []
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline:
        ids.append(get(client))
        time.sleep(0.002)
    assert reqlog.flush(app, timeout=10)
    logged = all_lines(log_path)
    assert sorted(logged) == sorted(ids)
    assert len(set(logged)) == len(ids)
    assert list(tmp_path.glob("access.log.*"))


def test_time_rotation_under_concurrent_requests_loses_no_line(
    make_app: t.Callable[..., Flask], tmp_path: Path, live_server: LiveServers, http_client: t.Any
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(
        REQLOG_OUTPUT=str(log_path),
        REQLOG_FORMAT="%L",
        REQLOG_ROTATE_WHEN="S",
        REQLOG_BACKUP_COUNT=100,
    )
    reqlog = RequestLog(app)
    ids: list[str] = []
    server = http_client(live_server(app))

    def client() -> list[str]:
        found = []
        deadline = time.monotonic() + 2.2
        while time.monotonic() < deadline:
            found.extend(server.request_ids(10))
        return found

    with ThreadPoolExecutor(4) as pool:
        for batch in pool.map(lambda _: client(), range(4)):
            ids.extend(batch)
    live_server.stop()
    assert reqlog.flush(app, timeout=10)
    logged = all_lines(log_path)
    assert len(logged) == len(ids) == len(set(ids))
    assert sorted(logged) == sorted(ids)
    assert list(tmp_path.glob("access.log.*"))


@pytest.mark.parametrize("move", [os.rename, os.unlink], ids=["renamed", "deleted"])
def test_file_moved_away_is_reopened(
    make_app: t.Callable[..., Flask], tmp_path: Path, move: t.Callable[..., None]
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(REQLOG_OUTPUT=str(log_path), REQLOG_FORMAT="%L")
    reqlog = RequestLog(app)
    client = app.test_client()
    before = [get(client) for _ in range(3)]
    assert reqlog.flush(app, timeout=10)
    moved = tmp_path / "access.log.1"
    if move is os.rename:
        move(log_path, moved)
    else:
        move(log_path)
    after = [get(client) for _ in range(2)]
    assert reqlog.flush(app, timeout=10)
    assert lines(log_path) == after
    assert lines(moved) == (before if move is os.rename else [])


def test_request_after_close_opens_the_file_again(
    make_app: t.Callable[..., Flask], tmp_path: Path
) -> None:
    log_path = tmp_path / "access.log"
    app = make_app(REQLOG_OUTPUT=str(log_path), REQLOG_FORMAT="%L")
    reqlog = RequestLog(app)
    client = app.test_client()
    first = get(client)
    reqlog.close(app)
    assert lines(log_path) == [first]
    second = get(client)
    assert reqlog.flush(app, timeout=10)
    assert lines(log_path) == [first, second]
