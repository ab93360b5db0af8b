"""Flask-Plug's shared test infrastructure (unpublished): see :mod:`.plugin` for fixtures."""

from __future__ import annotations

from .proxy import MODES, FaultProxy, Mode
from .redis_servers import (
    RedisClusterServers,
    RedisSentinelServers,
    RedisServer,
    RedisUnavailable,
    TLSFiles,
)
from .server import LiveServers

__all__ = [
    "MODES",
    "FaultProxy",
    "LiveServers",
    "Mode",
    "RedisClusterServers",
    "RedisSentinelServers",
    "RedisServer",
    "RedisUnavailable",
    "TLSFiles",
]
