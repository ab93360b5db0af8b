"""The fault proxy, in front of a real echo server on loopback (and Redis where it runs)."""

from __future__ import annotations

import os
import socket
import threading
import typing as t

import pytest

from flask_plug_testing import FaultProxy
from flask_plug_testing.plugin import ProxyFactory


@pytest.fixture
def echo_server() -> t.Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 that sends back what it receives."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    threads = []

    def echo(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(0.1)
            while not stop.is_set():
                try:
                    data = conn.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                conn.sendall(data)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=echo, args=(conn,), daemon=True)
            threads.append(thread)
            thread.start()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    yield listener.getsockname()[:2]
    stop.set()
    server.join()
    for thread in threads:
        thread.join()
    listener.close()


def connect(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection((proxy.host, proxy.port), timeout=5)
    return sock


def test_pass_forwards_both_ways(fault_proxy: ProxyFactory, echo_server: tuple[str, int]) -> None:
    proxy = fault_proxy(*echo_server)
    assert proxy.host == "127.0.0.1" and proxy.port != echo_server[1]
    with connect(proxy) as sock:
        sock.sendall(b"hello")
        assert sock.recv(100) == b"hello"


def test_reset_aborts_new_connections(
    fault_proxy: ProxyFactory, echo_server: tuple[str, int]
) -> None:
    proxy = fault_proxy(*echo_server)
    proxy.mode = "reset"
    for _ in range(5):
        # The RST can come before connect() returns, or after.
        with pytest.raises(ConnectionResetError), connect(proxy) as sock:
            sock.sendall(b"hello")
            sock.recv(100)


def test_reset_aborts_open_connections_and_pass_accepts_again(
    fault_proxy: ProxyFactory, echo_server: tuple[str, int]
) -> None:
    proxy = fault_proxy(*echo_server)
    with connect(proxy) as sock:
        sock.sendall(b"one")
        assert sock.recv(100) == b"one"
        proxy.mode = "reset"
        with pytest.raises(ConnectionResetError):
            sock.recv(100)  # the RST arrives without anything sent
    proxy.mode = "pass"
    with connect(proxy) as sock:
        sock.sendall(b"two")
        assert sock.recv(100) == b"two"


def test_stall_holds_connections_open_and_forwards_nothing_until_pass(
    fault_proxy: ProxyFactory, echo_server: tuple[str, int]
) -> None:
    proxy = fault_proxy(*echo_server)
    with connect(proxy) as open_before:
        proxy.mode = "stall"
        with connect(proxy) as opened_during:
            for sock in (open_before, opened_during):
                sock.sendall(b"held")
                sock.settimeout(0.3)
                with pytest.raises(TimeoutError):
                    sock.recv(100)  # no answer, and no close or reset either
            proxy.mode = "pass"
            for sock in (open_before, opened_during):
                sock.settimeout(5)
                assert sock.recv(100) == b"held"  # what was held back flows now
    assert proxy.accepted == 2


def test_bad_mode_is_refused(fault_proxy: ProxyFactory, echo_server: tuple[str, int]) -> None:
    proxy = fault_proxy(*echo_server)
    with pytest.raises(ValueError, match="mode must be one of pass, reset, stall"):
        proxy.mode = "drop"  # type: ignore[assignment]


def test_close_ends_every_thread(echo_server: tuple[str, int]) -> None:
    with FaultProxy(echo_server) as proxy, connect(proxy), connect(proxy) as sock:
        proxy.mode = "stall"
        sock.sendall(b"x")
    assert not [
        thread for thread in threading.enumerate() if thread.name == f"fault-proxy:{proxy.port}"
    ]


def test_proxies_redis(fault_proxy: ProxyFactory) -> None:
    redis = (os.environ.get("REDIS_HOST", "127.0.0.1"), 6379)
    try:
        socket.create_connection(redis, timeout=2).close()
    except OSError as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Redis tests: {redis} is unreachable: {e}")
        pytest.skip(f"Redis at {redis} is unreachable: {e}")
    proxy = fault_proxy(*redis)
    with connect(proxy) as sock:
        sock.sendall(b"PING\r\n")
        assert sock.recv(100) == b"+PONG\r\n"
