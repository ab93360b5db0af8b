"""The pytest plugin (entry point ``pytest11``): fixtures every package's tests may use."""

from __future__ import annotations

import collections
import importlib
import os
import typing as t
from pathlib import Path

import pytest

from .proxy import FaultProxy
from .redis_servers import (
    RedisClusterServers,
    RedisSentinelServers,
    RedisUnavailable,
    TLSFiles,
    binary,
)
from .server import LiveServers

ProxyFactory = t.Callable[[str, int], FaultProxy]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    # Pages reach this machine only: any name under .test is 127.0.0.1 (a host name that
    # is not localhost, for tests that need one), and every other name but localhost and
    # 127.0.0.1 resolves nowhere, so nothing a page does can leave the machine.
    "--host-resolver-rules="
    "MAP *.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def pytest_configure(config: pytest.Config) -> None:
    """Hypothesis examples get no deadline: a deadline is a timing assertion, and one
    example that is slow on a loaded machine is not a bug (speed is measured in
    benchmarks/)."""
    try:
        from hypothesis import settings
    except ImportError:  # a package whose tests do not use hypothesis
        return
    settings.register_profile("flask-plug", deadline=None)
    settings.load_profile("flask-plug")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test gets a node id of its own.

    Schemathesis names the test of each API operation ``test_x[GET /path]``, but pytest 9.2
    makes a node id of the function's name and its pytest parameters only, so all of them
    are ``...::test_x``. pytest-xdist schedules by node id: with ``--dist loadfile`` it
    would run the first operation's test alone. Such a test gets its name back in its id.
    """
    counts = collections.Counter(item.nodeid for item in items)
    for item in items:
        node_id = getattr(item, "_id", None)  # pytest >= 9.2; before, ids had the name
        if counts[item.nodeid] > 1 and node_id is not None:
            parent = item.nodeid.rpartition("::")[0]
            item._id = type(node_id).parse(f"{parent}::{item.name}")


@pytest.fixture
def live_server() -> t.Iterator[LiveServers]:
    """``live_server(app)``: serve a WSGI app with Werkzeug's threaded server on a free port
    of 127.0.0.1 and return its base URL, ``http://127.0.0.1:<port>``.

    ``live_server.stop()`` stops every server started so far once the requests they are
    answering have ended; teardown stops the rest. See :class:`.LiveServers`.
    """
    with LiveServers() as serve:
        yield serve


# Module scope, not session: while Playwright runs, the thread that drives it has an
# asyncio loop marked as running, under which Flask cannot run an async view (asgiref
# refuses to). Stopping it after each module keeps the other modules' async tests whole.
@pytest.fixture(scope="module")
def browser() -> t.Iterator[t.Any]:
    """Debian's Chromium (:data:`CHROMIUM`), headless, driven by Playwright: a
    ``playwright.sync_api.Browser``, shared by the tests of a module. Open a fresh context
    (or page) per test and close it.

    Skipped where Playwright or Chromium is missing, except under ``CI``, where that fails
    the test: CI must run the browser tests.
    """
    reason = None
    try:
        # Imported by name: Playwright is a test dependency of the packages with browser
        # tests only, not of this plugin.
        sync_api = importlib.import_module("playwright.sync_api")
    except ImportError:
        reason = "playwright is not installed"
    if reason is None and not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}")
        pytest.skip(reason)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def fault_proxy() -> t.Iterator[ProxyFactory]:
    """``fault_proxy(host, port)``: a started :class:`FaultProxy` in front of that address
    (PostgreSQL ``("127.0.0.1", 5432)``, Redis ``("127.0.0.1", 6379)``, ...).

    Connect to ``proxy.host:proxy.port`` instead of the target, and set ``proxy.mode`` to
    ``"reset"`` or ``"stall"`` to make the network fail. Every proxy made is closed at
    teardown.
    """
    proxies: list[FaultProxy] = []

    def make(host: str, port: int) -> FaultProxy:
        proxy = FaultProxy((host, port))
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


def _require_redis(*more: str) -> None:
    """Skip where ``redis-server``, ``redis-cli`` (or one of ``more`` programs) is missing;
    fail instead under ``CI``."""
    try:
        for program in ("redis-server", "redis-cli", *more):
            binary(program)
    except RedisUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Redis Cluster and Sentinel tests: {e}")
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[RedisClusterServers]:
    """A Redis Cluster of three masters on free ports of 127.0.0.1, shared by the session:
    ``redis_cluster.url()`` is ``redis+cluster://127.0.0.1:P1,...``. See
    :class:`.RedisClusterServers`.

    Shared: use a key prefix of your own, and start a cluster of your own
    (``with RedisClusterServers(tmp_path) as cluster:``) to stop nodes or move slots.
    Skipped where ``redis-server`` is missing, except under ``CI``, where that fails.
    """
    _require_redis()
    with RedisClusterServers(tmp_path_factory.mktemp("redis-cluster")) as cluster:
        yield cluster


@pytest.fixture(scope="session")
def redis_sentinel(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[RedisSentinelServers]:
    """A master, its replica and three Sentinels on free ports of 127.0.0.1, shared by the
    session: ``redis_sentinel.url()`` is ``redis+sentinel://127.0.0.1:S1,.../flask-plug``.
    A master that stops answering is replaced within a few seconds. See
    :class:`.RedisSentinelServers`.

    Shared: a test that fails the master over leaves it healthy when it ends
    (:meth:`~.RedisSentinelServers.restart` what you stopped, then
    :meth:`~.RedisSentinelServers.wait_until_healthy`). Skipped where ``redis-server``
    is missing, except under ``CI``, where that fails.
    """
    _require_redis()
    with RedisSentinelServers(tmp_path_factory.mktemp("redis-sentinel")) as servers:
        yield servers


@pytest.fixture(scope="session")
def redis_tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A CA and a certificate for 127.0.0.1 it signed, made with ``openssl`` once per
    session: pass it as ``tls=`` to :class:`.RedisClusterServers`,
    :class:`.RedisSentinelServers` or :class:`.RedisServer` for servers that speak TLS
    only. Skipped where ``openssl`` or ``redis-server`` is missing, except under ``CI``.
    """
    _require_redis("openssl")
    return TLSFiles.create(tmp_path_factory.mktemp("redis-tls"))
