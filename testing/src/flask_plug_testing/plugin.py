"""The pytest plugin (entry point ``pytest11``): fixtures every package's tests may use."""

from __future__ import annotations

import threading
import typing as t

import pytest

from .proxy import FaultProxy

if t.TYPE_CHECKING:
    from flask import Flask

ProxyFactory = t.Callable[[str, int], FaultProxy]
ServeApp = t.Callable[["Flask"], str]


@pytest.fixture
def live_server() -> t.Iterator[ServeApp]:
    """``live_server(app)``: serve ``app`` with Werkzeug's threaded server on a free port
    of 127.0.0.1 and return its base URL, ``http://127.0.0.1:<port>``. Every server made
    is stopped at teardown.
    """
    from werkzeug.serving import make_server

    servers = []

    def serve(app: Flask) -> str:
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


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
