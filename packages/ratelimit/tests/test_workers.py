"""Under a real gunicorn, memory storage with several workers is called out on stderr."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import textwrap
import time
import typing as t
from pathlib import Path

import pytest

pytest.importorskip("gunicorn")

WARNING: t.Final = "memory storage keeps separate counts in each of the"

APP_MODULE: t.Final = textwrap.dedent(
    """
    from flask import Flask
    from flask_plug.ratelimit import RateLimiter

    app = Flask(__name__)
    limiter = RateLimiter(app, default="100/minute")

    @app.get("/")
    def index():
        return "ok"
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int) -> tuple[int, dict[str, str]] | None:
    """``GET /`` on the server: its status and headers, or ``None`` if it does not answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        return response.status, dict(response.getheaders())
    except OSError:
        return None
    finally:
        conn.close()


def _run_gunicorn(tmp_path: Path, workers: int) -> str:
    """Serve the app with ``workers`` workers until one answers, stop it, return stderr."""
    (tmp_path / "rl_gunicorn_app.py").write_text(APP_MODULE)
    port = _free_port()
    # Only the command line tells the app how many workers there are.
    env = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")}
    stderr_path = tmp_path / f"gunicorn-{workers}.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
                "--chdir",
                str(tmp_path),
                "--graceful-timeout",
                "5",
                "rl_gunicorn_app:app",
            ],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        deadline = time.monotonic() + 20
        answer = None
        while answer is None:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited early:\n{stderr_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within 20 s:\n{stderr_path.read_text()}")
            time.sleep(0.05)
            answer = _get(port)
        status, headers = answer
        assert status == 200
        assert headers["RateLimit-Policy"] == '"default/100-60";q=100;w=60'
        if workers > 1:
            # Every worker imports the app; wait (bounded) until one has said so.
            while WARNING not in stderr_path.read_text() and time.monotonic() < deadline:
                time.sleep(0.05)
        proc.terminate()
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return stderr_path.read_text()


def test_gunicorn_with_two_workers_warns_that_memory_counts_are_per_worker(
    tmp_path: Path,
) -> None:
    stderr = _run_gunicorn(tmp_path, workers=2)

    assert (
        "flask-plug-ratelimit: memory storage keeps separate counts in each of the 2 worker"
        " processes, so clients get up to 2 times every limit." in stderr
    ), stderr
    assert "RATELIMIT_STORAGE_URI" in stderr


def test_gunicorn_with_one_worker_does_not_warn(tmp_path: Path) -> None:
    stderr = _run_gunicorn(tmp_path, workers=1)

    assert "Booting worker" in stderr  # stderr was captured
    assert WARNING not in stderr, stderr
