"""No line is lost when the process ends: at interpreter exit, on close(), and in real
gunicorn workers stopped with SIGTERM, with and without ``--preload``."""

from __future__ import annotations

import http.client
import importlib.util
import os
import re
import signal
import subprocess
import sys
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import Flask

from flask_plug.reqlog import RequestLog

REQUESTS = 2000

SCRIPT = """\
import logging
import sys

from flask import Flask

from flask_plug.reqlog import RequestLog

output, requests, ending = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if output.startswith("logger:"):
    logging.basicConfig(filename=sys.argv[4], level=logging.INFO, format="%(message)s")
app = Flask(__name__)
RequestLog(app, output=output, format="%L")


@app.get("/")
def index():
    return "ok"


client = app.test_client()
for _ in range(requests):
    with client.get("/") as response:
        response.get_data()
if ending == "exit":
    sys.exit(3)
if ending == "raise":
    raise RuntimeError("the end")
"""


def run_script(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", SCRIPT, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines() if path.exists() else []


@pytest.mark.parametrize(("ending", "returncode"), [("end", 0), ("exit", 3), ("raise", 1)], ids=str)
def test_no_line_lost_at_exit_without_flush(tmp_path: Path, ending: str, returncode: int) -> None:
    log_path = tmp_path / "access.log"
    result = run_script(log_path, REQUESTS, ending, cwd=tmp_path)
    assert result.returncode == returncode, result.stderr
    logged = lines(log_path)
    assert len(logged) == len(set(logged)) == REQUESTS
    if ending != "raise":
        assert result.stderr == ""


def test_no_line_lost_at_exit_on_stdout(tmp_path: Path) -> None:
    result = run_script("stdout", REQUESTS, "end", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    logged = result.stdout.splitlines()
    assert len(logged) == len(set(logged)) == REQUESTS
    assert result.stderr == ""


def test_no_line_lost_at_exit_to_a_logger_with_a_file_handler(tmp_path: Path) -> None:
    log_path = tmp_path / "app.log"
    result = run_script("logger:access", REQUESTS, "end", log_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    logged = lines(log_path)
    assert len(logged) == len(set(logged)) == REQUESTS
    assert result.stderr == ""


def test_close_writes_everything_queued(tmp_path: Path) -> None:
    log_path = tmp_path / "access.log"
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.get("/")(lambda: "ok")
    reqlog = RequestLog(app, output=log_path, format="%L")
    client = app.test_client()
    ids = []
    for _ in range(300):
        with client.get("/") as response:
            response.get_data()
            ids.append(response.headers["X-Request-ID"])
    reqlog.close(app)
    assert lines(log_path) == ids


def test_flush_and_close_without_requests(tmp_path: Path) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    reqlog = RequestLog(app, output=tmp_path / "access.log")
    assert reqlog.flush(app, timeout=1) is True
    reqlog.close(app)
    reqlog.close(app)
    assert lines(tmp_path / "access.log") == []


# gunicorn

APP_MODULE = """\
import os

from flask import Flask

from flask_plug.reqlog import RequestLog

app = Flask(__name__)
app.config.from_prefixed_env("REQLOG_TEST")  # REQLOG_TEST_REQLOG_FLUSH_INTERVAL=0.05
RequestLog(app, output=os.environ["REQLOG_TEST_LOG"], format="%L %>s")


@app.get("/")
def index():
    return str(os.getpid())
"""

GUNICORN_CONF = """\
graceful_timeout = 10
control_socket_disable = True  # gunicorn >= 25.1 would open ~/.gunicorn/gunicorn.ctl
"""

WORKERS = 2
GUNICORN_REQUESTS = 300


class Gunicorn:
    """One gunicorn master serving ``reqlog_app:app`` from ``root``, its output in a file."""

    def __init__(
        self,
        root: Path,
        preload: bool,
        workers: int = WORKERS,
        config: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.preload = preload
        self.workers = workers
        self.config = config or {}
        self.access_log = root / "access.log"
        self.output = root / "gunicorn.log"
        (root / "reqlog_app.py").write_text(APP_MODULE)
        (root / "gunicorn_conf.py").write_text(GUNICORN_CONF)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn",
            "-w", str(self.workers),
            "-k", "sync",
            "-b", "127.0.0.1:0",  # the kernel picks a free port; read back from the output
            "-c", str(self.root / "gunicorn_conf.py"),
            *(["--preload"] if self.preload else []),
            "reqlog_app:app",
        ]  # fmt: skip
        env = {
            **os.environ,
            "REQLOG_TEST_LOG": str(self.access_log),
            **{f"REQLOG_TEST_{key}": value for key, value in self.config.items()},
        }
        with self.output.open("wb") as output:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=output, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.log())
            if found:
                self.port = int(found.group(1))
                return
            time.sleep(0.05)
        pytest.fail(f"gunicorn did not bind within 15 s:\n{self.log()}")

    def get(self) -> tuple[str, str]:
        """The request id and the worker pid of one GET on a connection of its own."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/", headers={"Connection": "close"})
            with connection.getresponse() as response:
                body = response.read().decode()
                assert response.status == 200, body
                return response.getheader("X-Request-ID", ""), body
        finally:
            connection.close()

    def stop(self) -> int:
        """SIGTERM, the graceful stop; the master's exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise

    def log(self) -> str:
        return self.output.read_text(errors="replace")


def need_gunicorn() -> None:
    if sys.platform == "win32":
        pytest.skip("gunicorn runs on POSIX only")
    if importlib.util.find_spec("gunicorn") is None:
        if os.environ.get("CI"):
            pytest.fail("gunicorn is not installed, and CI must run the gunicorn tests")
        pytest.skip("gunicorn is not installed")


@pytest.fixture(params=[False, True], ids=["no-preload", "preload"])
def gunicorn(request: pytest.FixtureRequest, tmp_path: Path) -> t.Iterator[Gunicorn]:
    need_gunicorn()
    server = Gunicorn(tmp_path, preload=request.param)
    try:
        server.start()
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()


def test_gunicorn_workers_lose_no_line_on_sigterm(gunicorn: Gunicorn) -> None:
    answers = []
    # Until both workers have answered, so both have lines to lose.
    deadline = time.monotonic() + 15
    while len({pid for _, pid in answers}) < WORKERS and time.monotonic() < deadline:
        answers.append(gunicorn.get())
    with ThreadPoolExecutor(4) as pool:
        answers.extend(pool.map(lambda _: gunicorn.get(), range(GUNICORN_REQUESTS)))
    assert len({pid for _, pid in answers}) == WORKERS, gunicorn.log()

    assert gunicorn.stop() == 0, gunicorn.log()
    assert "Traceback" not in gunicorn.log(), gunicorn.log()
    ids = [request_id for request_id, _ in answers]
    assert len(set(ids)) == len(ids)
    logged = lines(gunicorn.access_log)
    assert len(logged) == len(ids), gunicorn.log()
    assert sorted(logged) == sorted(f"{request_id} 200" for request_id in ids)


@pytest.mark.parametrize(
    ("interval", "margin"),
    [("0", 1.0), ("0.05", 1.0), ("0.1", 2.0)],
    ids=["interval-0", "interval-0.05", "interval-0.1-default"],
)
def test_sigkilled_worker_loses_no_line_older_than_the_flush_interval(
    tmp_path: Path, interval: str, margin: float
) -> None:
    """``SIGKILL`` leaves no exit handler to run: what the writer has not written yet is
    lost, and it writes what it holds every ``REQLOG_FLUSH_INTERVAL`` seconds."""
    need_gunicorn()
    config = {"REQLOG_FLUSH_INTERVAL": interval} if interval != "0.1" else {}
    server = Gunicorn(tmp_path, preload=False, workers=1, config=config)
    try:
        server.start()
        answers = [server.get() for _ in range(200)]
        # Many times the interval, so every line is older than it when the worker dies.
        time.sleep(margin)
        (pid,) = {int(pid) for _, pid in answers}
        os.kill(pid, signal.SIGKILL)
        logged = lines(server.access_log)
        assert sorted(logged) == sorted(f"{request_id} 200" for request_id, _ in answers)
        # The master starts a new worker, which logs as before.
        request_id, new_pid = server.get()
        assert int(new_pid) != pid
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()
    assert f"{request_id} 200" in lines(server.access_log)


def test_sigkilled_worker_loses_the_lines_of_a_long_flush_interval(tmp_path: Path) -> None:
    """The price of batching, shown with a long interval: the batch the writer was
    gathering when the worker was killed is never written."""
    need_gunicorn()
    server = Gunicorn(tmp_path, preload=False, workers=1, config={"REQLOG_FLUSH_INTERVAL": "30"})
    try:
        server.start()
        answers = [server.get() for _ in range(20)]
        (pid,) = {int(pid) for _, pid in answers}
        os.kill(pid, signal.SIGKILL)
        assert lines(server.access_log) == []
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()
