"""Which storage a ``RATELIMIT_STORAGE_URI`` names: memory, one Redis server, a Redis
Cluster or the master that Sentinels name."""

from __future__ import annotations

from .cluster import RedisClusterStorage
from .redis_urls import parse_storage_url
from .sentinel import sentinel_master
from .storage import MemoryStorage, RedisStorage, Storage


def open_storage(uri: str, algorithm: str, *, timeout: float, max_keys: int) -> Storage:
    """The storage named by ``uri``: ``memory://``, or a Redis URL of one server, of a
    Redis Cluster's nodes or of Sentinels (see :data:`.redis_urls.SCHEMES`)."""
    if uri == "memory://":
        return MemoryStorage(algorithm, max_keys=max_keys)
    url = parse_storage_url(uri)
    if url.topology == "cluster":
        return RedisClusterStorage(algorithm, url, timeout=timeout)
    if url.topology == "sentinel":
        return RedisStorage(
            algorithm, timeout=timeout, client=sentinel_master(url, timeout=timeout)
        )
    return RedisStorage(algorithm, url.server_url, timeout=timeout)
