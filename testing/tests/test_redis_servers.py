"""The Redis servers the plugin starts: one server stopped and started again, and what its
small RESP client answers."""

from __future__ import annotations

import os
import typing as t

import pytest

from flask_plug_testing import RedisServer, RedisUnavailable
from flask_plug_testing.redis_servers import ReplyError, binary, command

if t.TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def server(tmp_path: Path) -> t.Iterator[RedisServer]:
    try:
        binary("redis-server")
    except RedisUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))
    with RedisServer(tmp_path) as server:
        yield server


def test_a_server_answers_stops_and_starts_again_on_its_port_empty(server: RedisServer) -> None:
    assert server.call("SET", "key", "value") == "OK"
    assert server.call("RPUSH", "list", "a", "b") == 2
    assert server.call("LRANGE", "list", 0, -1) == ["a", "b"]
    assert server.call("GET", "missing") is None
    with pytest.raises(ReplyError, match="unknown command"):
        server.call("NO-SUCH-COMMAND")

    server.stop()
    assert not server.running
    with pytest.raises(OSError):
        command(server.port, "PING", timeout=1)

    server.start()
    assert server.call("GET", "key") is None  # nothing is persisted
    server.kill()
    assert not server.running
