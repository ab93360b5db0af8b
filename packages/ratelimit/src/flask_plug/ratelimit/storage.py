"""Where counters live: in this process's memory, or in Redis shared by every worker.

Both check and consume all of a request's limits atomically: either every limit has
room and every one is charged, or nothing changes.
"""

from __future__ import annotations

import os
import select
import threading
import time
import typing as t
import weakref
from collections.abc import Sequence

from .algorithms import STEPS, State, Usage, gcra_step
from .redis_script import SCRIPT, SCRIPT_SHA, packed_script_arguments, usages_from_reply

if t.TYPE_CHECKING:
    from .limits import Limit


class StorageError(Exception):
    """The storage could not be reached or answered wrongly."""


class Check(t.NamedTuple):
    """One limit to check and charge for one client."""

    key: str
    limit: Limit
    cost: int


Mode = t.Literal["charge", "check", "force", "refund"]
"""What :meth:`Storage.hit` does: ``"charge"`` every limit only if all allow the request;
only ``"check"`` them (what ``"charge"`` would answer, changing nothing); ``"force"`` the
charge on every limit, even those without room (a response already sent, counted after
the fact by ``deduct_when``); or ``"refund"`` a charge made before (the part of a request
that other limits refused, when its limits live apart). The usages are those before a
refund."""


class Storage(t.Protocol):
    def hit(self, checks: Sequence[Check], mode: Mode = "charge") -> list[Usage]:
        """Check every limit and charge them as ``mode`` says."""

    def reset(self, prefix: str) -> int:
        """Forget every counter whose key starts with ``prefix``; return how many."""


class MemoryStorage:
    """Counters in a dict behind one lock: exact across threads, not across processes.

    :param max_keys: a bound on memory. Expired counters are swept every 1024 charges;
        if live ones still exceed the bound, the oldest are dropped (those clients get a
        fresh quota early).
    """

    def __init__(self, algorithm: str, *, max_keys: int = 100_000) -> None:
        self._step = STEPS[algorithm]
        self._gcra = algorithm == "gcra"
        self._max_keys = max_keys
        self._data: dict[str, tuple[State, float]] = {}  # key: (state, expires at)
        self._lock = threading.Lock()
        self._charges = 0

    def hit(self, checks: Sequence[Check], mode: Mode = "charge") -> list[Usage]:
        if mode == "refund":  # a forced negative charge; counts never drop below 0
            checks = [check._replace(cost=-check.cost) for check in checks]
        if self._gcra:
            return self._hit_gcra(checks, mode)
        data = self._data
        with self._lock:
            now = time.monotonic()
            step = self._step
            usages = []
            writes = []
            allowed = True
            for key, limit, cost in checks:
                item = data.get(key)
                usage, state, ttl = step(
                    limit, cost, now, item[0] if item is not None and item[1] > now else None
                )
                usages.append(usage)
                writes.append((key, state, ttl))
                allowed = allowed and usage.allowed
            if mode in ("force", "refund") or (allowed and mode == "charge"):
                for key, state, ttl in writes:
                    data.pop(key, None)  # re-insert, so dict order is oldest-written first
                    data[key] = (state, now + ttl)
                self._charges += 1
                if self._charges % 1024 == 0 or len(data) > self._max_keys:
                    self._evict(now)
            return usages

    def _hit_gcra(self, checks: Sequence[Check], mode: Mode) -> list[Usage]:
        # The default algorithm, without the generic step indirection: one stored
        # value per limit, which expires exactly when the clock reaches it.
        data = self._data
        with self._lock:
            now = time.monotonic()
            usages = []
            new_tats = []
            allowed = True
            for key, limit, cost in checks:
                item = data.get(key)
                usage, new_tat = gcra_step(limit, cost, now, 0.0 if item is None else item[0][0])
                usages.append(usage)
                new_tats.append(new_tat)
                allowed = allowed and usage.allowed
            if mode in ("force", "refund") or (allowed and mode == "charge"):
                for (key, _, _), new_tat in zip(checks, new_tats, strict=True):
                    data[key] = ((new_tat,), new_tat)
                self._charges += 1
                if self._charges % 1024 == 0 or len(data) > self._max_keys:
                    self._evict(now)
            return usages

    def _evict(self, now: float) -> None:
        data = self._data
        for key in [key for key, (_, expires) in data.items() if expires <= now]:
            del data[key]
        excess = len(data) - self._max_keys
        if excess > 0:
            for key in list(data)[:excess]:
                del data[key]

    def reset(self, prefix: str) -> int:
        with self._lock:
            doomed = [key for key in self._data if key.startswith(prefix)]
            for key in doomed:
                del self._data[key]
            return len(doomed)

    def __len__(self) -> int:
        return len(self._data)


_PAUSE_AFTER_ERROR = 1.0
"""Seconds during which requests skip a Redis server that just failed."""


def import_redis() -> t.Any:
    """The ``redis`` module.

    :raises RuntimeError: saying how to install it.
    """
    try:
        import redis
    except ImportError:
        raise RuntimeError(
            "RATELIMIT_STORAGE_URI is a Redis URL but the redis client is not installed;"
            " pip install 'flask-plug-ratelimit[redis]'"
        ) from None
    return redis


def scan_pattern(prefix: str) -> str:
    """A ``SCAN MATCH`` pattern for the keys that start with ``prefix``."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"


class RedisStorage:
    """Counters in Redis, shared by every worker and host that uses the same server.

    Each request is one ``EVALSHA`` of :data:`~.redis_script.SCRIPT`, sent on connections
    of this storage's own (made by the client's pool, so every option of the URL applies)
    without the per-command work of redis-py's generic path, which measured more than the
    round trip itself: the command is packed here in one piece, and no pool is locked.

    :param url: ``redis://``, ``rediss://`` or ``unix://``.
    :param timeout: seconds to wait for a connection or an answer.
    :param client: a ready ``redis.Redis`` client to use instead of ``url``, such as the
        one ``Sentinel.master_for`` returns.
    """

    def __init__(
        self, algorithm: str, url: str | None = None, *, timeout: float, client: t.Any = None
    ) -> None:
        redis = import_redis()
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._no_script: type[BaseException] = redis.exceptions.NoScriptError
        self._algorithm = algorithm
        try:
            self._client = client or redis.Redis.from_url(
                url, socket_timeout=timeout, socket_connect_timeout=timeout
            )
            # Options in the query string are only checked when a connection is made: on a
            # request, as a TypeError. Build one now (it connects lazily) to check them.
            pool = self._client.connection_pool
            pool.connection_class(**pool.connection_kwargs)
        except (ValueError, TypeError) as e:
            raise ValueError(f"RATELIMIT_STORAGE_URI is not usable by redis-py: {e}") from None
        kwargs = pool.connection_kwargs
        self._encoding: str = kwargs.get("encoding", "utf-8")
        # The pool makes the connections (and holds to its max_connections); this storage
        # keeps the idle ones.
        self._make_connection: t.Callable[[], t.Any] = pool.make_connection
        self._idle = _IdleConnections()
        _AFTER_FORK.add(self._idle)
        self._pause_until = 0.0

    def hit(self, checks: Sequence[Check], mode: Mode = "charge") -> list[Usage]:
        if self._pause_until and time.monotonic() < self._pause_until:
            # Just failed: answer at once instead of making every request wait for the
            # timeout; try the server again when the pause is over.
            raise StorageError("Redis failed less than a second ago")
        if not checks:
            return []
        count, arguments = packed_script_arguments(
            self._algorithm, checks, mode, encoding=self._encoding
        )
        try:
            reply = self._run_script(count, arguments)
        except self._errors as e:
            self._pause_until = time.monotonic() + _PAUSE_AFTER_ERROR
            raise StorageError(f"{type(e).__name__}: {e}") from e
        self._pause_until = 0.0
        return usages_from_reply(reply)

    def _run_script(self, count: int, arguments: bytes) -> t.Any:
        """``EVALSHA`` the script; ``EVAL`` it when Redis does not have it (restarted,
        ``SCRIPT FLUSH``), which also stores it for the next requests.

        :param count: how many RESP bulk strings ``arguments`` holds.
        """
        # RESP: an array of bulk strings, of which the command and the script come first.
        head = b"*%d\r\n" % (2 + count)
        idle = self._idle
        try:
            connection = idle.connected.pop()
        except IndexError:
            try:
                connection = idle.closed.pop()
            except IndexError:
                connection = self._make_connection()
        else:
            # What redis-py's pool checks before lending a connection: one the server
            # closed (restart, idle timeout) is connected again, not failed on.
            if _readable(connection):
                connection.disconnect()
        try:
            if connection._sock is None:
                # Connected here, not by the send: a Sentinel's connection finds the
                # master in connect(), which the send would skip.
                connection.connect()
            connection.send_packed_command([head + _EVALSHA + arguments])
            try:
                reply = connection.read_response()
            except self._no_script:
                connection.send_packed_command([head + _EVAL + arguments])
                reply = connection.read_response()
        except BaseException:
            # Whatever was left unread must not reach the next request on it; and the
            # next one connects without first checking the dead socket.
            connection.disconnect()
            idle.closed.append(connection)
            raise
        idle.connected.append(connection)
        return reply

    def reset(self, prefix: str) -> int:
        try:
            doomed = list(self._client.scan_iter(match=scan_pattern(prefix), count=1000))
            return int(self._client.delete(*doomed)) if doomed else 0
        except self._errors as e:
            raise StorageError(f"{type(e).__name__}: {e}") from e


_SCRIPT_BYTES = SCRIPT.encode()
_EVALSHA = b"$7\r\nEVALSHA\r\n$40\r\n" + SCRIPT_SHA.encode() + b"\r\n"
_EVAL = b"$4\r\nEVAL\r\n$%d\r\n%b\r\n" % (len(_SCRIPT_BYTES), _SCRIPT_BYTES)


def _readable(connection: t.Any) -> bool:
    """Whether an idle connection has something to read: the end of a connection the
    server closed, or a reply nobody read. Either way it must not be reused as it is."""
    sock = connection._sock
    if sock is None:  # closed: it connects when used
        return False
    if _poll is None:  # Windows: the connection's own check
        try:
            return bool(connection.can_read())
        except Exception:  # closed or broken: connect again
            return True
    poll = _poll()
    poll.register(sock, select.POLLIN)
    # Cheaper than the connection's can_read(), which in some redis-py versions makes
    # three system calls and raises an exception when there is nothing to read.
    return bool(poll.poll(0))


_poll = getattr(select, "poll", None)


class _IdleConnections:
    """The idle connections of one :class:`RedisStorage`: a list's pop and append need no
    lock. Those closed after an error are kept apart, to connect without a check."""

    def __init__(self) -> None:
        self.connected: list[t.Any] = []
        self.closed: list[t.Any] = []


_AFTER_FORK: weakref.WeakSet[_IdleConnections] = weakref.WeakSet()
"""A child process must not share its parent's sockets: it closes its copy of each."""


def _close_connections_after_fork() -> None:
    for idle in list(_AFTER_FORK):
        while idle.connected:
            connection = idle.connected.pop()
            connection.disconnect()  # in a child, closes without shutting the socket down
            idle.closed.append(connection)


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_close_connections_after_fork)
