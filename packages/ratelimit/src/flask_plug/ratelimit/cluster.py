"""Counters in a Redis Cluster: one atomic script call per hash slot, the slots of a
request asked at once, and what one slot refuses given back by the others.

A client's keys share a slot (the client is the hash tag of every key), so one key
function's limits are charged in one atomic call. Limits counted by different key
functions, or an app-wide count, usually live in other slots, often on other nodes.
:meth:`RedisClusterStorage.hit` writes every slot's call to its node's connection before
reading any answer: a request pays about one round trip, whatever the number of slots.

Across slots a request is charged all or none with a delay: each slot charges when all
its own limits have room; when another slot refused (or failed), the slots that charged
get a ``"refund"`` call. Between the two, those counts hold a charge that is given back,
so a concurrent request may be refused that would have fit; never the other way round.
"""

from __future__ import annotations

import threading
import time
import typing as t
from collections.abc import Sequence

from .algorithms import Usage
from .redis_script import SCRIPT, script_keys_and_args, usages_from_reply
from .storage import _PAUSE_AFTER_ERROR, Check, Mode, StorageError, import_redis, scan_pattern

if t.TYPE_CHECKING:
    from .redis_urls import StorageURL

Reply = list[int]
"""A script call's answer: four numbers per key (see :func:`.usages_from_reply`)."""

_Call = tuple[t.Any, list[str], list[t.Any]]
"""A script call: the node (a ``ClusterNode``), the keys, the arguments."""


class RedisClusterStorage:
    """Counters in a Redis Cluster (``redis+cluster://``), through redis-py's ``RedisCluster``.

    redis-py learns the slot map from the nodes and follows ``MOVED`` and ``ASK`` when
    slots move; a slot whose node fails or times out is not retried (a timed-out call may
    have been counted): the request raises :class:`.StorageError`, after giving back what
    the other slots charged, and the node is skipped for a second.

    :param url: the parsed ``redis+cluster://`` URI.
    :param timeout: seconds to wait for a connection or an answer.
    """

    def __init__(self, algorithm: str, url: StorageURL, *, timeout: float) -> None:
        redis = import_redis()
        exceptions = redis.exceptions
        self._exceptions = exceptions
        self._key_slot = redis.crc.key_slot
        self._errors: tuple[type[BaseException], ...] = (
            exceptions.RedisError,
            exceptions.RedisClusterException,
            OSError,
        )
        self._algorithm = algorithm
        # The URL's options, as redis-py reads them: RedisCluster drops the ones its nodes
        # do not take, without a word, so refuse them here.
        try:
            options = redis.connection.parse_url(url.server_url)
            # Options are only checked when a connection is made: build one (it connects
            # lazily) to check them now.
            pool = redis.ConnectionPool.from_url(url.server_url)
            pool.connection_class(**pool.connection_kwargs)
        except (ValueError, TypeError) as e:
            raise ValueError(f"RATELIMIT_STORAGE_URI is not usable by redis-py: {e}") from None
        ignored = sorted(set(options) - set(redis.cluster.REDIS_ALLOWED_KEYS))
        if ignored:
            raise ValueError(
                f"RATELIMIT_STORAGE_URI has options a Redis Cluster client does not take:"
                f" {', '.join(ignored)}"
            )
        self._connect_options = {
            "url": url.server_url,
            "startup_nodes": [redis.cluster.ClusterNode(*address) for address in url.addresses[1:]],
            "socket_timeout": timeout,
            "socket_connect_timeout": timeout,
            # redis-py retries a failed call after refreshing the slot map; a timed-out
            # script may have run, so never: the app's policy decides that request.
            "retry": redis.retry.Retry(redis.backoff.NoBackoff(), 0),
        }
        self._cluster_class = redis.cluster.RedisCluster
        self._cluster: t.Any = None
        self._script: t.Any = None
        self._lock = threading.Lock()
        self._connect_after = 0.0
        self._paused: dict[str, float] = {}
        """Nodes that failed: their name and when to try them again."""

    def _connect(self) -> t.Any:
        """The ``RedisCluster``, made on first use: it reads the slot map at once."""
        cluster = self._cluster
        if cluster is not None:
            return cluster
        with self._lock:
            if self._cluster is None:
                if time.monotonic() < self._connect_after:
                    raise StorageError("the Redis Cluster was unreachable less than a second ago")
                try:
                    cluster = self._cluster_class(**self._connect_options)
                except self._errors as e:
                    self._connect_after = time.monotonic() + _PAUSE_AFTER_ERROR
                    raise StorageError(f"{type(e).__name__}: {e}") from e
                self._script = cluster.register_script(SCRIPT)
                self._cluster = cluster
            return self._cluster

    def hit(self, checks: Sequence[Check], mode: Mode = "charge") -> list[Usage]:
        cluster = self._connect()
        slots: dict[int, list[int]] = {}
        for index, check in enumerate(checks):
            slots.setdefault(self._key_slot(check.key.encode()), []).append(index)
        groups = list(slots.values())
        try:
            nodes = [cluster.nodes_manager.get_node_from_slot(slot) for slot in slots]
        except self._errors as e:  # a slot no node serves
            raise StorageError(f"{type(e).__name__}: {e}") from e
        now = time.monotonic()
        for node in nodes:
            if self._paused.get(node.name, 0.0) > now:
                # Answer at once, charging nothing, instead of making every request wait
                # for the timeout; try the node again when the pause is over.
                raise StorageError(f"Redis Cluster node {node.name} failed less than a second ago")
        calls = [
            (node, *script_keys_and_args(self._algorithm, [checks[i] for i in group], mode))
            for node, group in zip(nodes, groups, strict=True)
        ]
        replies = self._call(cluster, calls)
        failures = [reply for reply in replies if isinstance(reply, BaseException)]
        if mode == "charge" and len(calls) > 1:
            charged = [
                call
                for call, reply in zip(calls, replies, strict=True)
                if not isinstance(reply, BaseException) and all(reply[0::4])
            ]
            if charged and len(charged) < len(calls):
                # Another slot refused the request, or failed: give back what these took.
                # A refund that fails leaves its charge: that client loses quota, never
                # gains any.
                self._call(
                    cluster, [(n, keys, self._refund_args(args)) for n, keys, args in charged]
                )
        if failures:
            error = failures[0]
            raise StorageError(f"{type(error).__name__}: {error}") from error
        usages: list[Usage] = [None] * len(checks)  # type: ignore[list-item]
        for group, reply in zip(groups, t.cast(list[Reply], replies), strict=True):
            for index, usage in zip(group, usages_from_reply(reply), strict=True):
                usages[index] = usage
        return usages

    @staticmethod
    def _refund_args(args: list[bytes]) -> list[bytes]:
        return [args[0], b"refund", *args[2:]]

    def _call(self, cluster: t.Any, calls: list[_Call]) -> list[Reply | BaseException]:
        """Run the script once per call, every call written before any answer is read;
        each call's rows, or the error it ended with."""
        exceptions = self._exceptions
        lost = (exceptions.ConnectionError, exceptions.TimeoutError)
        replies: list[t.Any] = [None] * len(calls)
        opened = []
        sha = self._script.sha
        try:
            for index, (node, keys, args) in enumerate(calls):
                client = cluster.get_redis_connection(node)
                try:
                    connection = client.connection_pool.get_connection()
                except lost as e:
                    replies[index] = e
                    continue
                opened.append((index, client, connection))
                try:
                    connection.send_command("EVALSHA", sha, len(keys), *keys, *args)
                except lost as e:
                    replies[index] = e
            for index, client, connection in opened:
                if replies[index] is None:
                    try:
                        replies[index] = client.parse_response(connection, "EVALSHA")
                    except lost as e:
                        replies[index] = e
                    except exceptions.ResponseError as e:
                        replies[index] = e
        finally:
            for index, client, connection in opened:
                if replies[index] is None or isinstance(replies[index], lost):
                    connection.disconnect()  # it may still have an answer on its way
                client.connection_pool.release(connection)
        # Answers that say the call did not run: the slot moved (MOVED), is moving (ASK,
        # TRYAGAIN), or the node lacks the script (NOSCRIPT). redis-py's own call follows
        # redirections, refreshes the slot map and loads the script: let it run them again.
        rerun = (exceptions.AskError, exceptions.TryAgainError, exceptions.NoScriptError)
        for index, ((node, keys, args), reply) in enumerate(zip(calls, replies, strict=True)):
            if isinstance(reply, lost):
                self._node_failed(cluster, node)
            elif isinstance(reply, rerun):
                try:
                    replies[index] = self._script(keys=keys, args=args)
                except self._errors as e:
                    replies[index] = e
        return t.cast(list[Reply | BaseException], replies)

    def _node_failed(self, cluster: t.Any, node: t.Any) -> None:
        """Skip ``node`` for a second, and read the slot map again: a replica may have
        taken over, or the slots moved."""
        self._paused[node.name] = time.monotonic() + _PAUSE_AFTER_ERROR
        try:
            cluster.nodes_manager.initialize()
        except self._errors:
            pass  # no node answers: the next request tries again

    def reset(self, prefix: str) -> int:
        cluster = self._connect()
        try:
            # SCAN on every primary, then one DEL per slot.
            doomed = list(cluster.scan_iter(match=scan_pattern(prefix), count=1000))
            return int(cluster.delete(*doomed)) if doomed else 0
        except self._errors as e:
            raise StorageError(f"{type(e).__name__}: {e}") from e
