"""The pytest plugin (entry point ``pytest11``): fixtures every package's tests may use."""

from __future__ import annotations

import typing as t

import pytest

from .proxy import FaultProxy

ProxyFactory = t.Callable[[str, int], FaultProxy]


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
