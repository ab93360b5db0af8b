"""The whole stack: the demo app with all seven extensions against bare Flask, on the demo's
JSON endpoint ``GET /api/notes``.

``run()`` measures both in one process (µs per request, like every suite). ``server_table()``
serves both with gunicorn and loads them with wrk (requests per second), and adds a row
for the demo's production configuration (rate limits in Redis, users in PostgreSQL) when
both services are reachable.

Both apps answer the same request with the same JSON: the bare app's view returns the
demo's notes as the demo's view does, without the extensions around it. The request is a
plain anonymous GET (no cookie, no Origin header), so auth finds no session and cors adds
only ``Vary``; every extension still runs its hooks on it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import typing as t
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from harness import Result, Variant, measure
from werkzeug.test import EnvironBuilder

from flask_plug_demo import create_app
from flask_plug_demo.extensions import reqlog
from flask_plug_demo.views import NOTES

PATH = "/api/notes"
BARE = "bare Flask"
DEMO = "flask-plug demo, all seven extensions"
# The demo's default limit, 300/minute per address, is spent in the first fraction of a
# second: from then on the demo would answer 429 and the benchmark would time refusals.
# A limit that is never reached keeps every request a 200; the limit is still checked and
# charged on each request (a counter in memory, or in Redis in production), which is the
# cost a real request pays.
UNLIMITED = "1000000/second"

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
WRK = shutil.which("wrk") or "/usr/bin/wrk"
# One sync worker per CPU on this 2-CPU machine: the request is CPU-bound Python, so more
# workers would only take turns on the same cores, and wrk (two threads) needs some CPU
# too. Every server gets the same count, so the ratio compares the apps alone.
WORKERS = 2
CONNECTIONS = 8
THREADS = 2
# Several short runs rather than one long one: the demo's throughput under gunicorn
# switches between two levels for seconds at a time on this machine (bare Flask's does
# not), so the median of five interleaved runs is steadier than any single run.
SECONDS = 3
ROUNDS = 5
WARM_SECONDS = 1


# -- in one process ------------------------------------------------------------------------


def bare_app() -> Flask:
    """Bare Flask with the demo's view: the same notes, the same JSON."""
    app = Flask("bare")

    @app.get(PATH)
    def list_notes() -> dict[str, t.Any]:
        return {"notes": list(NOTES)}

    return app


def demo_app(instance: Path, config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """The demo with its development configuration, quietly: ``create_app`` prints the
    first users' passwords and a warning about insecure cookies on stderr."""
    with contextlib.redirect_stderr(io.StringIO()):
        return create_app({"RATELIMIT_DEFAULT": UNLIMITED, **(config or {})}, str(instance))


def _get(app: Flask) -> tuple[str, bytes]:
    environ = EnvironBuilder(path=PATH, base_url="http://127.0.0.1/").get_environ()
    status: list[str] = []
    body = app(environ, lambda s, headers, exc_info=None: status.append(s))  # type: ignore[arg-type]
    try:
        return status[0], b"".join(body)
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()


# What demo:prod changes in the app itself (its storage and database are another matter):
# no span names in Server-Timing, JSON access lines.
PRODUCTION_SETTINGS = {"TIMER_SPANS": False, "REQLOG_FORMAT": "json"}


def full_stack(instance: Path) -> list[Variant]:
    bare = bare_app()
    demo = demo_app(instance / "development")
    production = demo_app(instance / "production", PRODUCTION_SETTINGS)
    for app in (demo, production):
        (bare_status, bare_body), (status, body) = _get(bare), _get(app)
        assert bare_status == status == "200 OK", (bare_status, status)
        assert json.loads(bare_body) == json.loads(body), "the apps answer different JSON"
    return [
        Variant(BARE, bare, path=PATH),
        # The access log's writer thread is waited for at the end of each run.
        Variant(
            f"{DEMO}, development settings (spans on)",
            demo,
            path=PATH,
            settle=lambda: reqlog.flush(demo),
        ),  # fmt: skip
        Variant(
            f"{DEMO}, production settings (no spans, JSON log)",
            production,
            path=PATH,
            settle=lambda: reqlog.flush(production),
        ),  # fmt: skip
    ]


def run() -> list[tuple[str, list[Result]]]:
    with tempfile.TemporaryDirectory(prefix="bench-stack-") as folder:
        variants = full_stack(Path(folder))
        try:
            results = measure(variants)
        finally:
            for variant in variants[1:]:
                reqlog.close(variant.app)  # type: ignore[arg-type]
    return [(f"stack: GET {PATH}, the demo app with all seven extensions", results)]


# -- under gunicorn ------------------------------------------------------------------------

BARE_MODULE = '''\
"""Bare Flask with the demo's view, for gunicorn (written by benchmarks/bench_stack.py)."""

from flask import Flask

NOTES = {notes!r}

app = Flask("bare")


@app.get({path!r})
def list_notes():
    return {{"notes": list(NOTES)}}
'''


@dataclass(frozen=True)
class Served:
    label: str
    requests_per_second: float
    """Median of the rounds."""
    spread: float
    """Half the interquartile range of the rounds."""
    latency: str
    """wrk's mean latency of the median round."""


@dataclass
class _Server:
    label: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def _start(label: str, args: list[str], env: dict[str, str], folder: Path, port: int) -> _Server:
    """Start a server in its own session and wait until it answers 200."""
    log = folder / f"{label.split()[0]}-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            args, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = _Server(label, process, port, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(server.url, timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    _stop(server)
    raise RuntimeError(f"{label} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(server: _Server) -> None:
    """SIGTERM to gunicorn's arbiter (it stops its workers), SIGKILL to the session if
    that takes too long."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(5)


def _gunicorn(port: int, app: str, folder: Path) -> list[str]:
    """The same gunicorn command for bare Flask and the demo; no access log of its own."""
    return [
        sys.executable, "-m", "gunicorn",
        "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--worker-class", "sync",
        "--no-control-socket", "--chdir", str(folder), app,
    ]  # fmt: skip


def _body(server: _Server) -> t.Any:
    with urllib.request.urlopen(server.url, timeout=5) as response:
        return json.loads(response.read())


def _wrk(server: _Server, seconds: int) -> tuple[float, str]:
    """Requests per second and mean latency of one wrk run; refuses a run with errors."""
    result = subprocess.run(
        [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", server.url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    out = result.stdout
    if "Non-2xx or 3xx responses" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk against {server.label} saw errors:\n{out}")
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", out, re.MULTILINE)
    latency = re.search(r"^\s+Latency\s+(\S+)", out, re.MULTILINE)
    if rate is None or latency is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return float(rate.group(1)), latency.group(1)


@contextlib.contextmanager
def _production(folder: Path) -> t.Iterator[dict[str, str] | None]:
    """The environment of ``python -m flask_plug_demo.prod`` against its own PostgreSQL
    schema and Redis key prefix, removed afterwards; ``None`` if a service is down."""
    missing = [
        f"{name} at {url}"
        for name, url, port in (("Redis", REDIS_URL, 6379), ("PostgreSQL", DATABASE_URL, 5432))
        if not _reachable(url, port)
    ]
    if missing:
        print(f"bench_stack: skipping the production row, unreachable: {', '.join(missing)}",
              file=sys.stderr)  # fmt: skip
        yield None
        return
    import psycopg
    import redis

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    (folder / "metrics").mkdir()
    separator = "&" if "?" in DATABASE_URL else "?"
    try:
        yield {
            "DATABASE_URL": f"{DATABASE_URL}{separator}options=-csearch_path%3D{schema}",
            "REDIS_URL": REDIS_URL,
            "FLASK_RATELIMIT_KEY_PREFIX": schema,
            "FLASK_RATELIMIT_DEFAULT": UNLIMITED,  # see UNLIMITED
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),
            "DEMO_INSTANCE": str(folder / "prod-instance"),
            "WORKERS": str(WORKERS),
        }
    finally:
        with psycopg.connect(DATABASE_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{schema}*"):
            client.delete(key)
        client.close()


def measure_servers(seconds: int = SECONDS, rounds: int = ROUNDS) -> list[Served]:
    """Requests per second of each server: all of them started first, then ``rounds``
    rounds of one wrk run each, in a shuffled order, as in :func:`harness.measure`."""
    samples: dict[str, list[tuple[float, str]]] = {}
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-stack-")))
        (folder / "bare_notes.py").write_text(BARE_MODULE.format(notes=NOTES, path=PATH))
        # Tables and first users are made once here (as flask_plug_demo.prod does), not by
        # two workers at once.
        instance = folder / "dev-instance"
        reqlog.close(demo_app(instance))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        servers = []
        port = _free_port()
        servers.append(_start(BARE, _gunicorn(port, "bare_notes:app", folder), env, folder, port))
        stack.callback(_stop, servers[-1])
        port = _free_port()
        factory = f"flask_plug_demo:create_app(instance_path={str(instance)!r})"
        dev_env = {**env, "FLASK_RATELIMIT_DEFAULT": UNLIMITED}  # see UNLIMITED
        label = f"{DEMO}, development configuration (limits in memory)"
        servers.append(_start(label, _gunicorn(port, factory, folder), dev_env, folder, port))
        stack.callback(_stop, servers[-1])
        production = stack.enter_context(_production(folder))
        if production is not None:
            port = _free_port()
            prod_env = {**env, **production, "BIND": f"127.0.0.1:{port}"}
            label = f"{DEMO}, production configuration (Redis, PostgreSQL, JSON log to a file)"
            args = [sys.executable, "-m", "flask_plug_demo.prod"]
            servers.append(_start(label, args, prod_env, folder, port))
            stack.callback(_stop, servers[-1])

        expected = _body(servers[0])
        for server in servers:
            assert _body(server) == expected, f"{server.label} answers different JSON"
            _wrk(server, WARM_SECONDS)  # every worker has served, caches are warm
            samples[server.label] = []
        order = list(servers)
        shuffle = random.Random(0).shuffle
        for _ in range(rounds):
            shuffle(order)
            for server in order:
                samples[server.label].append(_wrk(server, seconds))

    served = []
    for label, runs in samples.items():
        ordered = sorted(runs)
        rates = [rate for rate, _ in ordered]
        latency = ordered[len(ordered) // 2][1]
        q1, _, q3 = statistics.quantiles(rates, n=4)
        served.append(Served(label, statistics.median(rates), (q3 - q1) / 2, latency))
    return served


def server_table(seconds: int = SECONDS, rounds: int = ROUNDS) -> str:
    """The gunicorn + wrk table, in Markdown, for ``benchmarks/run.py``."""
    served = measure_servers(seconds, rounds)
    base = served[0].requests_per_second
    lines = [
        f"**stack: GET {PATH} under gunicorn ({WORKERS} sync workers), loaded by"
        f" `wrk -t{THREADS} -c{CONNECTIONS} -d{seconds}s` on the same machine**"
        f" (median of {rounds} interleaved runs, ± half the interquartile range)",
        "",
        "| server | requests/s | wrk mean latency | throughput to bare Flask"
        " | time per request to bare Flask |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for s in served:
        rps = s.requests_per_second
        lines.append(
            f"| {s.label} | {rps:,.0f} ± {s.spread:,.0f} | {s.latency} | {rps / base:.3f}"
            f" | {base / rps:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    from harness import table

    for title, results in run():
        print(table(title, results, baseline=BARE), end="\n\n")
        ratio = results[1].micros / results[0].micros
        print(f"target, all seven under one bare Flask request (ratio < 2.0): ratio {ratio:.3f},"
              f" {'met' if ratio < 2.0 else 'NOT met'}\n")  # fmt: skip
    print(server_table())
