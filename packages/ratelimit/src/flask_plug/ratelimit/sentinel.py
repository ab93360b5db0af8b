"""The master that Redis Sentinels name, as a client for :class:`.RedisStorage`.

redis-py asks the Sentinels for the master's address each time it opens a connection.
After a failover, connections to the old master fail (Sentinel closes them, or the old
master, now a replica, refuses the script): the client asks again and finds the new one.
"""

from __future__ import annotations

import typing as t

from .storage import import_redis

if t.TYPE_CHECKING:
    from .redis_urls import StorageURL


def sentinel_master(url: StorageURL, *, timeout: float) -> t.Any:
    """A ``redis.Redis`` client for the master of ``url.service``, through the Sentinels
    at ``url.addresses``; it connects on first use.

    :param timeout: seconds to wait for a Sentinel or the master, per connection or answer.
    :raises ValueError: naming ``RATELIMIT_STORAGE_URI``, for options redis-py refuses.
    """
    redis = import_redis()
    try:
        options = redis.connection.parse_url(url.server_url)
    except ValueError as e:
        raise ValueError(f"RATELIMIT_STORAGE_URI is not usable by redis-py: {e}") from None
    del options["host"], options["port"]
    tls = options.pop("connection_class", None) is redis.connection.SSLConnection
    timeouts = {"socket_timeout": timeout, "socket_connect_timeout": timeout}
    no_retry = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
    # redis-py retries each Sentinel ten times, with backoff, by default: seconds per
    # request when they are down. Ask each once; the next one is asked anyway.
    sentinel_options: dict[str, t.Any] = {**timeouts, "retry": no_retry, **url.sentinel_auth}
    if tls:
        options["ssl"] = True
        # The Sentinels of a TLS deployment speak TLS too, with the same certificates.
        sentinel_options["ssl"] = True
        sentinel_options.update((k, v) for k, v in options.items() if k.startswith("ssl_"))
    try:
        sentinels = redis.sentinel.Sentinel(
            list(url.addresses), sentinel_kwargs=sentinel_options, **timeouts
        )
    except TypeError as e:
        raise ValueError(f"RATELIMIT_STORAGE_URI is not usable by redis-py: {e}") from None
    # One retry, on a lost connection only: after a failover the first call on an old
    # connection fails, and the retry reconnects through the Sentinels. A timed-out call
    # is not sent again (it may have been counted).
    retry = redis.retry.Retry(
        redis.backoff.NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)
    )
    return sentinels.master_for(url.service, retry=retry, **options)
