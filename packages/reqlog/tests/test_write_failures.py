"""When the log cannot be written (directory removed, permission denied, file replaced by
a directory, disk full), the writer thread survives, warns once when the outage starts and
once when writing resumes with the count of lines lost, reopens the file, and resumes by
itself; requests never see it."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from flask_plug.reqlog import RequestLog

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

    from flask_plug.reqlog.writer import LogWriter

EXTENSION_KEY = "flask-plug-reqlog"
LOGGER = "flask_plug.reqlog"
# The three kinds of file output: reopened when moved, rotated by size, rotated by time.
FILE_KINDS = {
    "plain": {},
    "size-rotated": {"REQLOG_MAX_BYTES": 10**9},
    "time-rotated": {"REQLOG_ROTATE_WHEN": "midnight"},
}


@pytest.fixture(params=list(FILE_KINDS), ids=list(FILE_KINDS))
def kind(request: pytest.FixtureRequest) -> dict[str, t.Any]:
    return FILE_KINDS[request.param]


@pytest.fixture
def make_app(tmp_path: Path) -> t.Iterator[t.Callable[..., tuple[Flask, RequestLog]]]:
    """Registered apps logging ``%L`` lines; closed after the test."""
    made: list[tuple[Flask, RequestLog]] = []

    def make(output: Path | str, **config: t.Any) -> tuple[Flask, RequestLog]:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"), static_folder=None)
        app.config.update(REQLOG_OUTPUT=str(output), REQLOG_FORMAT="%L", **config)
        app.get("/")(lambda: "ok")
        reqlog = RequestLog(app)
        made.append((app, reqlog))
        return app, reqlog

    yield make
    for app, reqlog in made:
        reqlog.close(app)


def get(client: FlaskClient) -> str:
    """The request id of a GET that answered 200, whose body was read and closed."""
    with client.get("/") as response:
        assert response.status_code == 200
        response.get_data()
        return response.headers["X-Request-ID"]


def batches(app: Flask, reqlog: RequestLog, count: int) -> list[str]:
    """``count`` requests, each written by a batch of its own (flushed after each)."""
    client = app.test_client()
    ids = []
    for _ in range(count):
        ids.append(get(client))
        assert reqlog.flush(app, timeout=10)
    return ids


def lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines() if path.is_file() else []


def writer(app: Flask) -> LogWriter:
    return t.cast("LogWriter", app.extensions[EXTENSION_KEY].writer)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def assert_one_outage(caplog: pytest.LogCaptureFixture, lost: int) -> None:
    """Exactly one warning when the outage started, one when it ended, with the count."""
    messages = warnings(caplog)
    assert len(messages) == 2, messages
    assert messages[0].startswith("cannot write the access log to "), messages
    assert messages[1].startswith("writing the access log to "), messages
    assert messages[1].endswith(f" again; {lost} lines were lost"), messages
    assert all(r.levelno == logging.WARNING for r in caplog.records if r.name == LOGGER)


def assert_quiet(capfd: pytest.CaptureFixture[str]) -> None:
    """No traceback from logging's handleError on stderr: one warning per outage only."""
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    assert "Logging error" not in err, err


def test_directory_removed_then_recreated(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    tmp_path: Path,
    kind: dict[str, t.Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    log_path = tmp_path / "logs" / "access.log"
    app, reqlog = make_app(log_path, **kind)
    caplog.set_level(logging.WARNING, LOGGER)
    before = batches(app, reqlog, 3)
    shutil.rmtree(log_path.parent)
    batches(app, reqlog, 4)
    assert writer(app).alive()
    log_path.parent.mkdir()
    after = batches(app, reqlog, 3)
    assert writer(app).alive()
    assert lines(log_path) == after
    assert_one_outage(caplog, lost=4)
    assert reqlog.dropped(app) == 4
    assert before
    assert_quiet(capfd)


def test_file_replaced_by_a_directory(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    tmp_path: Path,
    kind: dict[str, t.Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    log_path = tmp_path / "access.log"
    app, reqlog = make_app(log_path, **kind)
    caplog.set_level(logging.WARNING, LOGGER)
    batches(app, reqlog, 2)
    log_path.unlink()
    log_path.mkdir()
    batches(app, reqlog, 5)
    assert writer(app).alive()
    log_path.rmdir()
    after = batches(app, reqlog, 2)
    assert lines(log_path) == after
    assert_one_outage(caplog, lost=5)
    assert reqlog.dropped(app) == 5
    assert_quiet(capfd)


@contextlib.contextmanager
def unprivileged() -> t.Iterator[None]:
    """Run as ``nobody`` meanwhile, if root (who may write anywhere); the effective user
    is the whole process's, the writer thread's included."""
    if os.geteuid() != 0:
        yield
        return
    os.seteuid(65534)
    try:
        yield
    finally:
        os.seteuid(0)


@pytest.fixture
def nobody_dir() -> t.Iterator[Path]:
    """A directory the unprivileged user owns, on a path it can reach."""
    path = Path(tempfile.mkdtemp(prefix="reqlog-"))
    try:
        if os.geteuid() == 0:
            os.chown(path, 65534, 65534)
        yield path
    finally:
        path.chmod(0o755)
        shutil.rmtree(path)


def test_directory_made_unwritable(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    nobody_dir: Path,
    kind: dict[str, t.Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    log_path = nobody_dir / "access.log"
    caplog.set_level(logging.WARNING, LOGGER)
    with unprivileged():
        app, reqlog = make_app(log_path, **kind)
        batches(app, reqlog, 2)
        # logrotate (or an operator) moves the file away while the directory is read-only
        log_path.unlink()
        nobody_dir.chmod(0o555)
        batches(app, reqlog, 3)
        assert writer(app).alive()
        assert not log_path.exists()
        nobody_dir.chmod(0o755)
        after = batches(app, reqlog, 2)
    assert lines(log_path) == after
    assert_one_outage(caplog, lost=3)
    assert "Permission denied" in warnings(caplog)[0]
    assert_quiet(capfd)


# Disk full


@pytest.fixture
def small_disk(tmp_path: Path) -> t.Iterator[Path]:
    """A 64 KB tmpfs, mounted for the test."""
    path = tmp_path / "disk"
    path.mkdir()
    if sys.platform != "linux":
        pytest.skip("tmpfs mounts are a Linux thing")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs (root needed): {result.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk: Path) -> Path:
    """Fill ``disk`` with one file, to the last byte."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as file:
        with contextlib.suppress(OSError):
            while True:
                file.write(b"\0" * 512)
    return filler


def test_disk_full_then_space_freed(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    small_disk: Path,
    kind: dict[str, t.Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    log_path = small_disk / "access.log"
    # Batches end with flush() only, so the 300 lines below are one write.
    app, reqlog = make_app(log_path, REQLOG_FLUSH_INTERVAL=60, **kind)
    caplog.set_level(logging.WARNING, LOGGER)
    client = app.test_client()
    before = batches(app, reqlog, 2)
    filler = fill(small_disk)
    # More than the rest of the file's last page, which is allocated already.
    during = [get(client) for _ in range(300)]
    assert reqlog.flush(app, timeout=10)
    during += batches(app, reqlog, 2)
    assert writer(app).alive()
    assert "No space left on device" in warnings(caplog)[0]
    filler.unlink()
    after = batches(app, reqlog, 3)
    logged = lines(log_path)
    assert logged[:2] == before
    assert logged[-3:] == after
    # What the failed write left: whole lines and at most one piece of one.
    pieces = logged[2:-3]
    assert len(pieces) < 300
    assert set(pieces[:-1]) <= set(during)
    assert not pieces or any(line.startswith(pieces[-1]) for line in during)
    # The lines of a failed write count as lost, even those that reached the disk.
    assert_one_outage(caplog, lost=302)
    assert reqlog.dropped(app) == 302
    assert_quiet(capfd)


def test_log_deleted_on_a_disk_it_filled_is_reopened(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    small_disk: Path,
    kind: dict[str, t.Any],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """``rm access.log`` frees the space only once no process holds the file open."""
    log_path = small_disk / "access.log"
    app, reqlog = make_app(log_path, **kind)
    caplog.set_level(logging.WARNING, LOGGER)
    client = app.test_client()
    lost = 0
    for _ in range(200):  # 64 KB of lines of 32 characters: about 2,000 lines
        for _ in range(20):
            get(client)
        assert reqlog.flush(app, timeout=10)
        if warnings(caplog):
            break
    else:
        pytest.fail("the log never filled the disk")
    lost = reqlog.dropped(app)
    assert lost > 0
    log_path.unlink()
    after = batches(app, reqlog, 3)
    assert writer(app).alive()
    assert lines(log_path) == after
    assert_one_outage(caplog, lost=lost)
    assert_quiet(capfd)


def test_partial_line_of_a_full_disk_does_not_spoil_the_next(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    small_disk: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A write cut short by a full disk leaves half a line; the next line starts afresh."""
    log_path = small_disk / "access.log"
    app, reqlog = make_app(log_path)
    caplog.set_level(logging.WARNING, LOGGER)
    client = app.test_client()
    room = small_disk / "room"
    room.write_bytes(b"\0" * 4096)
    filler = fill(small_disk)
    room.unlink()  # room for some lines, not for a batch of 2,000
    ids = [get(client) for _ in range(2000)]
    assert reqlog.flush(app, timeout=10)
    filler.unlink()
    after = batches(app, reqlog, 2)
    logged = lines(log_path)
    assert logged[-2:] == after
    # Every line is a whole request id or a piece of one; none is glued to another.
    assert all(len(line) <= len(ids[0]) for line in logged)


def test_dev_full_never_fails_a_request(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    app, reqlog = make_app("/dev/full")
    caplog.set_level(logging.WARNING, LOGGER)
    batches(app, reqlog, 5)
    assert writer(app).alive()
    messages = warnings(caplog)
    assert len(messages) == 1, messages
    assert "No space left on device" in messages[0]
    assert reqlog.dropped(app) == 5
    assert_quiet(capfd)


# Errors that are not OSError


class BrokenHandler(logging.Handler):
    """A handler of the app's that raises out of ``handle`` until repaired."""

    def __init__(self) -> None:
        super().__init__()
        self.broken = True
        self.lines: list[str] = []

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if self.broken:
            raise RuntimeError("backend gone")
        self.lines.append(record.getMessage())
        return True

    def emit(self, record: logging.LogRecord) -> None:
        pass


def test_any_exception_from_a_logger_output(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = BrokenHandler()
    logger = logging.getLogger("test_reqlog_write_failures.broken")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        app, reqlog = make_app("logger:test_reqlog_write_failures.broken")
        caplog.set_level(logging.WARNING, LOGGER)
        batches(app, reqlog, 4)
        assert writer(app).alive()
        handler.broken = False
        after = batches(app, reqlog, 2)
    finally:
        logger.removeHandler(handler)
    assert handler.lines == after
    assert_one_outage(caplog, lost=4)
    assert "RuntimeError: backend gone" in warnings(caplog)[0]


def test_closed_stdout_then_a_working_one(
    make_app: t.Callable[..., tuple[Flask, RequestLog]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stdout", closed)
    app, reqlog = make_app("stdout")
    caplog.set_level(logging.WARNING, LOGGER)
    batches(app, reqlog, 3)
    assert writer(app).alive()
    working = io.StringIO()
    monkeypatch.setattr(sys, "stdout", working)
    after = batches(app, reqlog, 2)
    assert working.getvalue().splitlines() == after
    assert_one_outage(caplog, lost=3)
    assert warnings(caplog)[0].startswith("cannot write the access log to stdout (ValueError")


def test_dropped_is_zero_without_trouble(
    make_app: t.Callable[..., tuple[Flask, RequestLog]], tmp_path: Path
) -> None:
    app, reqlog = make_app(tmp_path / "access.log")
    batches(app, reqlog, 3)
    assert reqlog.dropped(app) == 0
    with app.app_context():
        assert reqlog.dropped() == 0
