"""Werkzeug's development server prints its own line per request on stderr
(``127.0.0.1 - - [...] "GET /?token=... HTTP/1.1" 200 -``): with the request log
registered, its secrets are redacted there too. Real ``flask run`` and ``app.run()``
processes on 127.0.0.1, their stderr read."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import textwrap
import time
import typing as t
import urllib.error
import urllib.request

import pytest

if t.TYPE_CHECKING:
    from pathlib import Path

APP = """
import signal

from flask import Flask
from flask_plug.reqlog import RequestLog

# Ctrl+C stops the server as in a terminal, even when started by a test runner that
# ignores SIGINT (pytest-xdist's workers do, and children inherit that).
signal.signal(signal.SIGINT, signal.default_int_handler)

app = Flask(__name__)
RequestLog(app, redact=["ssn"])


@app.get("/")
def index():
    return "hello"


if __name__ == "__main__":
    import sys

    app.run(host="127.0.0.1", port=int(sys.argv[1]))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, process: subprocess.Popen[str]) -> None:
    """Until the server accepts connections; fails if it exits first."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {process.communicate()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("the server did not start")


def get(port: int, target: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{target}", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def send_raw(port: int, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        while sock.recv(65536):
            pass


@pytest.mark.parametrize("how", ["flask run", "app.run"])
def test_dev_server_lines_are_redacted(tmp_path: Path, how: str) -> None:
    (tmp_path / "app.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    port = free_port()
    if how == "flask run":
        command = [sys.executable, "-m", "flask", "--app", "app", "run", "--port", str(port)]
    else:
        command = [sys.executable, "app.py", str(port)]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_for(port, process)
        assert get(port, "/?token=hunter2-token&page=2") == 200
        assert get(port, "/missing?password=hunter2-pw") == 404
        assert get(port, "/?ssn=078-05-1120") == 200
        # A request line the server refuses: it quotes it in an error message.
        send_raw(port, b"GET /?api_key=hunter2-key HTTP/1.1 extra\r\n\r\n")
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C: the queued access lines are written
        try:
            stdout, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise

    assert '"GET /?token=REDACTED&page=2 HTTP/1.1" 200 -' in stderr, stderr
    assert "/missing?password=REDACTED HTTP/1.1" in stderr, stderr
    assert "/?ssn=REDACTED HTTP/1.1" in stderr, stderr
    assert "api_key=REDACTED" in stderr, stderr
    for secret in ("hunter2", "078-05-1120"):
        assert secret not in stderr
        assert secret not in stdout
    # The access log itself, on stdout, has the request lines too.
    assert '"GET /?token=REDACTED&page=2 HTTP/1.1" 200 5' in stdout, stdout
