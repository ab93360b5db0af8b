from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from uuid import uuid4

import pytest
from flask import Flask

from flask_plug.ratelimit import RateLimiter

if t.TYPE_CHECKING:
    from pathlib import Path

    from flask.testing import FlaskClient


@pytest.fixture
def limiter() -> RateLimiter:
    return RateLimiter()


@pytest.fixture
def app(limiter: RateLimiter) -> Flask:
    app = Flask(__name__)
    limiter.init_app(app)

    @app.get("/limited")
    @limiter.limit("3/minute")
    def limited() -> str:
        return "ok"

    @app.get("/free")
    def free() -> str:
        return "ok"

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture(params=["memory", "redis"])
def storage(request: pytest.FixtureRequest) -> t.Iterator[dict[str, str]]:
    """``RateLimiter`` options for memory storage, then for the Redis at ``REDIS_URL``
    under a key prefix of this test's own (deleted afterwards)."""
    if request.param == "memory":
        yield {"storage_uri": "memory://"}
        return
    redis = pytest.importorskip("redis")
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as e:
        client.close()
        reason = f"Redis at {url} is unreachable ({e}); set REDIS_URL"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    prefix = f"test-{uuid4().hex}"
    try:
        yield {"storage_uri": url, "key_prefix": prefix}
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)
        client.close()


@pytest.fixture
def init_app_error() -> t.Callable[[str], str]:
    """A function: the message of the error ``RateLimiter(app)`` raises, naming the key,
    for an app whose ``RATELIMIT_STORAGE_URI`` is the URI it is given."""

    def init_app_error(uri: str) -> str:
        app = Flask(__name__)
        app.config["RATELIMIT_STORAGE_URI"] = uri
        with pytest.raises(ValueError, match="RATELIMIT_STORAGE_URI") as error:
            RateLimiter(app)
        return str(error.value)

    return init_app_error


@pytest.fixture
def requests_at_once() -> t.Callable[..., list[list[int]]]:
    """A function: ``requests_at_once(app, *paths)`` sends six requests for each path from
    each of four threads per path, all running together, each with a test client of its
    own; the status codes, a list per path."""

    def requests_at_once(app: Flask, *paths: str) -> list[list[int]]:
        def six_requests(path: str) -> list[int]:
            client = app.test_client()
            return [client.get(path).status_code for _ in range(6)]

        with ThreadPoolExecutor(max_workers=4 * len(paths)) as pool:
            runs = [[pool.submit(six_requests, path) for _ in range(4)] for path in paths]
            return [[code for run in path_runs for code in run.result()] for path_runs in runs]

    return requests_at_once


@pytest.fixture
def run_workers(tmp_path: Path) -> t.Callable[..., list[t.Any]]:
    """A function: ``run_workers(script, args, processes, wait)`` starts ``processes``
    interpreters running ``script`` with ``args``, then a barrier directory and the
    worker's index; once each has touched ``ready-<index>`` there (within ``wait``
    seconds), touches ``go`` to release them together, and returns what each printed last,
    read as JSON (each must finish within twice ``wait``)."""

    def run_workers(script: str, args: list[str], processes: int, wait: float) -> list[t.Any]:
        barrier = tmp_path / "barrier"
        barrier.mkdir()
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, *args, str(barrier), str(i)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(processes)
        ]
        try:
            deadline = time.monotonic() + wait
            while len(list(barrier.glob("ready-*"))) < processes:
                failed = [p for p in procs if p.poll() is not None]
                if failed:
                    pytest.fail(f"a worker exited early: {failed[0].communicate()[1]}")
                if time.monotonic() > deadline:
                    pytest.fail(f"workers did not get ready within {wait:g} s")
                time.sleep(0.01)
            (barrier / "go").touch()
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=2 * wait)
                assert proc.returncode == 0, err
                results.append(json.loads(out.strip().splitlines()[-1]))
            return results
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()

    return run_workers
