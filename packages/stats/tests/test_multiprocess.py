"""Real gunicorn, four workers restarted as they go, in prometheus_client's multiprocess mode:
every worker's requests add up, and a worker that died mid-request leaves nothing in flight.

``PROMETHEUS_MULTIPROC_DIR`` is set for gunicorn only: prometheus_client reads it at import,
so setting it here would turn every other test of the session into multiprocess mode.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import math
import os
import random
import re
import signal
import string
import subprocess
import sys
import time
import typing as t
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

REQUESTS = 300
MAX_REQUESTS = 20
JITTER = 5
WORKERS = 4

APP_MODULE = """\
import os

from flask import Flask

from flask_plug.stats import Stats

app = Flask(__name__)
Stats(app)


@app.get("/hit")
def hit():
    return str(os.getpid())


@app.route("/dav", methods=["PROPFIND"])
def dav():
    return "dav"


@app.get("/crash")
def crash():
    os._exit(1)  # the worker dies mid-request: its in-flight gauge is left at 1
"""

GUNICORN_CONF = """\
from prometheus_client import multiprocess

graceful_timeout = 5
control_socket_disable = True  # gunicorn >= 25.1 would open ~/.gunicorn/gunicorn.ctl


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
"""


class Gunicorn:
    """One gunicorn master serving ``mp_app:app`` from ``root``, its output in a log file."""

    def __init__(
        self,
        root: Path,
        workers: int = WORKERS,
        max_requests: int = MAX_REQUESTS,
        app_module: str = APP_MODULE,
    ) -> None:
        self.root = root
        self.workers = workers
        self.max_requests = max_requests
        self.multiproc_dir = root / "prometheus"
        self.multiproc_dir.mkdir()
        self.log_path = root / "gunicorn.log"
        (root / "mp_app.py").write_text(app_module)
        (root / "gunicorn_conf.py").write_text(GUNICORN_CONF)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def environment(self) -> dict[str, str]:
        """This process's environment, in multiprocess mode on this server's directory."""
        env = {k: v for k, v in os.environ.items() if k.upper() != "PROMETHEUS_MULTIPROC_DIR"}
        env["PROMETHEUS_MULTIPROC_DIR"] = str(self.multiproc_dir)
        return env

    def start(self) -> None:
        env = self.environment()
        command = [
            sys.executable, "-m", "gunicorn",
            "-w", str(self.workers),
            "--max-requests", str(self.max_requests),
            "--max-requests-jitter", str(JITTER if self.max_requests else 0),
            "-b", "127.0.0.1:0",  # the kernel picks a free port; read back from the log
            "-c", str(self.root / "gunicorn_conf.py"),
            "mp_app:app",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{self._port()}"
        self._wait_until_serving()

    def _port(self) -> int:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self._check_running()
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.log())
            if found:
                return int(found.group(1))
            time.sleep(0.05)
        pytest.fail(f"gunicorn did not bind within 15 s:\n{self.log()}")

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self._check_running()
            try:
                if get(f"{self.url}/admin/stats", timeout=2)[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        pytest.fail(f"gunicorn did not answer within 15 s:\n{self.log()}")

    def _check_running(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            pytest.fail(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")

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
        return self.log_path.read_text(errors="replace")


def get(url: str, timeout: float = 10) -> tuple[int, str]:
    """Status and body of a GET; an error status is returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode(errors="replace")


def serve(server: Gunicorn) -> t.Iterator[Gunicorn]:
    if sys.platform == "win32":
        pytest.skip("gunicorn runs on POSIX only")
    if importlib.util.find_spec("gunicorn") is None:
        if os.environ.get("CI"):
            pytest.fail("gunicorn is not installed, and CI must run the multiprocess test")
        pytest.skip("gunicorn is not installed")
    try:
        server.start()
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()


@pytest.fixture
def gunicorn(tmp_path: Path) -> t.Iterator[Gunicorn]:
    yield from serve(Gunicorn(tmp_path))


@pytest.fixture
def steady_gunicorn(tmp_path: Path) -> t.Iterator[Gunicorn]:
    """One worker, never replaced (0 turns --max-requests off): each new worker writes
    files of its own, whatever the requests were, and the warm-up must reach them all."""
    yield from serve(Gunicorn(tmp_path, workers=1, max_requests=0))


def scrape(server: Gunicorn) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """The Prometheus families by name and the JSON summary, both read over HTTP."""
    status, text = get(f"{server.url}/admin/stats/metrics")
    assert status == 200, text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    status, body = get(f"{server.url}/admin/stats")
    assert status == 200, body
    return families, json.loads(body)


def in_flight(families: dict[str, t.Any], summary: dict[str, t.Any]) -> tuple[float, int]:
    (sample,) = families["flask_http_requests_in_flight"].samples
    return sample.value, summary["in_flight"]


def test_restarted_workers_add_up_and_dead_workers_leave_nothing_in_flight(
    gunicorn: Gunicorn,
) -> None:
    with pytest.raises((OSError, http.client.HTTPException)):
        get(f"{gunicorn.url}/crash", timeout=10)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: get(f"{gunicorn.url}/hit"), range(REQUESTS)))
    assert {status for status, _ in answers} == {200}
    # Each worker answers at most MAX_REQUESTS + JITTER requests before it is replaced.
    worker_pids = {body for _, body in answers}
    assert len(worker_pids) >= math.ceil(REQUESTS / (MAX_REQUESTS + JITTER)) > WORKERS

    # The master reaps the crashed worker (and runs child_exit) asynchronously: wait for it.
    # Only the scrape itself may be in flight then.
    deadline = time.monotonic() + 10
    families, summary = scrape(gunicorn)
    while max(in_flight(families, summary)) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
        families, summary = scrape(gunicorn)
    exposed, reported = in_flight(families, summary)
    assert exposed <= 1 and reported <= 1, gunicorn.log()

    served = [
        sample
        for sample in families["flask_http_requests"].samples
        if sample.name == "flask_http_requests_total" and sample.labels["endpoint"] == "hit"
    ]
    assert sum(sample.value for sample in served) == REQUESTS
    assert {sample.labels["status"] for sample in served} == {"200"}
    (count,) = (
        sample.value
        for sample in families["flask_http_request_duration_seconds"].samples
        if sample.name == "flask_http_request_duration_seconds_count"
        and sample.labels["endpoint"] == "hit"
    )
    assert count == REQUESTS

    hit = summary["endpoints"]["hit"]
    assert (hit["count"], hit["statuses"], hit["errors"]) == (REQUESTS, {"200": REQUESTS}, 0)
    assert hit["p50"] is not None and hit["mean"] is not None

    assert gunicorn.stop() == 0, gunicorn.log()
    log = gunicorn.log()
    assert "Traceback" not in log, log
    assert log.count("exited with code 1") == 1, log
    # Every worker is gone: child_exit dropped every live gauge; the counts stay on disk.
    assert not list(gunicorn.multiproc_dir.glob("gauge_livesum_*.db"))
    assert list(gunicorn.multiproc_dir.glob("counter_*.db"))


def send(server: Gunicorn, method: str, path: str) -> int:
    """One request on a connection of its own: gunicorn's sync workers close each one."""
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def directory_size(path: Path) -> int:
    """The size of prometheus_client's files (the dashboard's history grows with time)."""
    return sum(file.stat().st_size for file in path.glob("*.db"))


def test_random_methods_and_paths_do_not_grow_the_multiprocess_files(
    steady_gunicorn: Gunicorn,
) -> None:
    # Warm up: the worker writes every series the attack below can reach, once.
    assert send(steady_gunicorn, "GET", "/hit") == 200
    assert send(steady_gunicorn, "BREW", "/hit") == 405
    assert send(steady_gunicorn, "BREW", "/nowhere") == 404
    assert send(steady_gunicorn, "PROPFIND", "/dav") == 200
    before = directory_size(steady_gunicorn.multiproc_dir)

    rng = random.Random(13)
    for _ in range(1500):
        # gunicorn itself refuses lower case in a method (400, never reaching the app).
        method = "".join(rng.choices(string.ascii_uppercase, k=rng.randint(4, 14)))
        path = rng.choice(["/hit", "/dav", "/" + "".join(rng.choices(string.ascii_letters, k=10))])
        assert send(steady_gunicorn, method, path) in {404, 405}

    # prometheus_client's files start at 64 KiB and double when full: 0.1 grew them by
    # ~3 KB per method, 1500 methods to several MB.
    after = directory_size(steady_gunicorn.multiproc_dir)
    assert after <= before, (before, after)
    families, summary = scrape(steady_gunicorn)
    methods = {sample.labels["method"] for sample in families["flask_http_requests"].samples}
    assert methods == {"GET", "PROPFIND", "other"}
    assert set(summary["endpoints"]) == {"hit", "dav", "<unmatched>"}
    assert steady_gunicorn.stop() == 0, steady_gunicorn.log()


CUSTOM_APP_MODULE = """\
import os

from flask import Flask, request

from flask_plug.stats import Stats

stats = Stats()
app = Flask(__name__)
app.config["STATS_DEFAULT_LABELS"] = {"service": "mp"}
stats.init_app(app)
stats.info("app_info", "The app.", version="3.1")
stats.register_collector(
    "kinds", lambda req, resp, elapsed: {req.view_args.get("kind", "-"): 1}, labels=("kind",)
)


@app.get("/work/<kind>")
@stats.counter(
    "work",
    "Work done.",
    labels={"kind": lambda: request.view_args["kind"], "status": lambda r: r.status_code},
)
@stats.histogram("work_seconds", "Work time.", labels={"kind": lambda: request.view_args["kind"]})
@stats.summary("work_summary", "Work time.")
@stats.gauge("work_running", "Work running.")
def work(kind):
    return str(os.getpid())
"""


@pytest.fixture
def custom_gunicorn(tmp_path: Path) -> t.Iterator[Gunicorn]:
    yield from serve(Gunicorn(tmp_path, app_module=CUSTOM_APP_MODULE))


def exported(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


CUSTOM_REQUESTS = 120  # past MAX_REQUESTS + JITTER per worker: some workers are replaced


def check_custom_metrics(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> None:
    half = CUSTOM_REQUESTS // 2
    for kind in ("a", "b"):
        key = (("kind", kind), ("service", "mp"), ("status", "200"))
        assert samples[("work_total", key)] == half
        assert samples[("work_seconds_count", (("kind", kind), ("service", "mp")))] == half
        collected = (("collector", "kinds"), ("endpoint", "work"), ("kind", kind))
        assert (
            samples[("flask_http_collected_kinds_total", (*collected, ("service", "mp")))] == half
        )
    assert samples[("work_summary_count", (("service", "mp"),))] == CUSTOM_REQUESTS
    assert samples[("work_running", (("service", "mp"),))] == 0
    assert samples[("app_info", (("service", "mp"), ("version", "3.1")))] == 1
    names = {name for name, _ in samples}
    assert "python_info" in names
    # Each would describe whichever process answered the scrape.
    assert not {name for name in names if name.startswith(("process_", "python_gc_"))}
    assert not {name for name in names if name.endswith("_created")}


def test_custom_metrics_add_up_across_workers_here_and_on_a_port_of_their_own(
    custom_gunicorn: Gunicorn,
) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = [f"/work/{'ab'[n % 2]}" for n in range(CUSTOM_REQUESTS)]
        # A generous timeout: a request may wait for a replacement worker to boot.
        answers = list(
            pool.map(lambda path: get(f"{custom_gunicorn.url}{path}", timeout=60), paths)
        )
    assert {status for status, _ in answers} == {200}
    assert len({body for _, body in answers}) > WORKERS  # workers were replaced

    status, text = get(f"{custom_gunicorn.url}/admin/stats/metrics")
    assert status == 200, text
    check_custom_metrics(exported(text))

    command = [sys.executable, "-m", "flask", "--app", "mp_app", "stats", "serve-metrics"]
    server = subprocess.Popen(
        [*command, "--port", "0"],
        cwd=custom_gunicorn.root,
        env=custom_gunicorn.environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+/metrics)$", line)
        assert found, line
        status, text = get(found.group(1))
        assert status == 200, text
        check_custom_metrics(exported(text))
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
    assert custom_gunicorn.stop() == 0, custom_gunicorn.log()
    assert "Traceback" not in custom_gunicorn.log(), custom_gunicorn.log()


HISTORY_INTERVAL = 0.5


@pytest.fixture
def history_gunicorn(tmp_path: Path) -> t.Iterator[Gunicorn]:
    """Two workers replaced as they go, forked from a master that imported the app
    (``preload_app``); a history interval of half a second."""
    app_module = APP_MODULE.replace(
        "Stats(app)", f"Stats(app, history_interval={HISTORY_INTERVAL})"
    )
    assert app_module != APP_MODULE
    server = Gunicorn(tmp_path, workers=2, app_module=app_module)
    with (tmp_path / "gunicorn_conf.py").open("a") as conf:
        conf.write("preload_app = True\n")
    yield from serve(server)


def history_points(server: Gunicorn) -> list[dict[str, t.Any]]:
    status, body = get(f"{server.url}/admin/stats")
    assert status == 200, body
    points: list[dict[str, t.Any]] = json.loads(body)["history"]["points"]
    return points


def wait_for(condition: t.Callable[[], bool], server: Gunicorn) -> None:
    deadline = time.monotonic() + 15
    while not condition():
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)


def test_history_adds_up_every_worker_and_outlives_replaced_ones(
    history_gunicorn: Gunicorn,
) -> None:
    server = history_gunicorn
    shared = server.multiproc_dir / "flask_plug_stats_flask_http_history.json"
    wait_for(shared.exists, server)  # sampled after the start-up probe's response

    pids = set()
    for _ in range(4):
        for _ in range(30):
            status, pid = get(f"{server.url}/hit")
            assert status == 200
            pids.add(pid)
        time.sleep(HISTORY_INTERVAL)
    assert len(pids) > 2  # workers were replaced (--max-requests)
    last = math.floor(time.time() / HISTORY_INTERVAL)
    wait_for(lambda: time.time() >= (last + 1) * HISTORY_INTERVAL, server)

    # Whichever worker answers has it all, the replaced workers' requests included.
    first, second = history_points(server), history_points(server)
    assert sum(point["requests"] for point in first) == 120, first
    common = {p["start"] for p in first} & {p["start"] for p in second}
    assert [p for p in first if p["start"] in common] == [p for p in second if p["start"] in common]
    assert sum(1 for point in first if point["requests"]) >= 4
    assert all(point["errors"] == 0 for point in first)

    # A history file spoilt from outside is logged, replaced at the next sample, and no
    # request fails on it.
    for _ in range(5):  # unless a sample taken after an earlier response replaced it first
        shared.write_text("not json")
        if history_points(server) == []:
            break
    else:
        pytest.fail("the spoilt file was never read")
    wait_for(
        lambda: get(f"{server.url}/hit")[0] == 200 and shared.read_text() != "not json", server
    )
    assert isinstance(json.loads(shared.read_text()), list)
    assert server.stop() == 0, server.log()
    assert "is unreadable; it is replaced at the next sample" in server.log()
