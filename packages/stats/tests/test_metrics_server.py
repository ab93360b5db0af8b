"""The metrics on a port of their own: ``start_metrics_server`` in a thread, and
``flask stats serve-metrics`` in a process of its own, both real servers on 127.0.0.1."""

from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
import typing as t
import urllib.error
import urllib.request

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

from flask_plug.stats import Stats, start_metrics_server

if t.TYPE_CHECKING:
    from pathlib import Path

TOKEN = "scrape-token-0123456789"


def fetch(url: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, t.Any], str]:
    """Status, headers and body; an error status is returned, not raised."""
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read().decode()


def make_app(**config: t.Any) -> Flask:
    stats = Stats()
    app = Flask(__name__)
    app.config.update(config)
    stats.init_app(app)
    stats.info("app_info", "The app.", version="1.2")

    @app.get("/orders")
    @stats.counter("orders", "Orders.", labels={"status": lambda response: response.status_code})
    def orders() -> str:
        return "orders"

    return app


def test_the_metrics_server_serves_the_apps_metrics_and_nothing_else() -> None:
    app = make_app()
    app.test_client().get("/orders")
    server = start_metrics_server(app, port=0)
    try:
        assert server.url == f"http://127.0.0.1:{server.port}/metrics"
        status, headers, text = fetch(server.url)
        assert status == 200
        assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        samples = {
            sample.name: sample
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        assert samples["orders_total"].labels == {"status": "200"}
        assert samples["orders_total"].value == 1
        assert samples["app_info"].labels == {"version": "1.2"}
        assert "process_cpu_seconds_total" in samples
        assert not any(name.endswith("_created") for name in samples)

        assert fetch(server.url.replace("/metrics", "/other"))[0] == 404
        assert fetch(server.url, method="POST")[0] == 405
        status, headers, text = fetch(server.url, method="HEAD")
        assert (status, text) == (200, "")
        openmetrics = fetch(server.url, Accept="application/openmetrics-text")[2]
        assert openmetrics.endswith("# EOF\n")
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError):
        fetch(server.url)


def test_the_metrics_server_asks_for_the_scraper_credentials() -> None:
    app = make_app(
        STATS_METRICS_USERNAME="prometheus",
        STATS_METRICS_PASSWORD="pw",
        STATS_METRICS_BEARER_TOKEN=TOKEN,
    )
    server = start_metrics_server(app, port=0, path="/internal/metrics")
    try:
        status, headers, _ = fetch(server.url)
        assert status == 401
        assert headers["WWW-Authenticate"].startswith('Basic realm="metrics"')
        assert fetch(server.url, Authorization=f"Bearer {TOKEN}")[0] == 200
        pair = base64.b64encode(b"prometheus:pw").decode()
        assert fetch(server.url, Authorization=f"Basic {pair}")[0] == 200
        assert fetch(server.url, Authorization="Bearer wrong")[0] == 401
    finally:
        server.stop()


APP_MODULE = """\
from flask import Flask

from flask_plug.stats import Stats

stats = Stats()
app = Flask("served")
app.config["STATS_DEFAULT_LABELS"] = {"service": "served"}
stats.init_app(app)
stats.info("app_info", "The app.", version="2.0")
"""


def test_flask_stats_serve_metrics_serves_until_stopped(tmp_path: Path) -> None:
    (tmp_path / "served_app.py").write_text(APP_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "flask", "--app", "served_app", "stats", "serve-metrics"]
    process = subprocess.Popen(
        [*command, "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.fullmatch(
            r"Serving the metrics of served on (http://127\.0\.0\.1:\d+/metrics)\n", line
        )
        assert found, line + (process.stdout.read() if process.poll() is not None else "")
        status, _, text = fetch(found.group(1))
        assert status == 200
        [info] = [
            sample
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "app_info"
        ]
        assert info.labels == {"version": "2.0", "service": "served"}
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_flask_stats_serve_metrics_says_when_the_port_is_taken(tmp_path: Path) -> None:
    (tmp_path / "served_app.py").write_text(APP_MODULE)
    app = make_app()
    server = start_metrics_server(app, port=0)
    try:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
        result = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "served_app", "stats", "serve-metrics"]
            + ["--port", str(server.port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        server.stop()
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{server.port}" in result.stderr
