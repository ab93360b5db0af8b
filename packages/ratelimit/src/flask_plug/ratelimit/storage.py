"""Where counters live: in this process's memory, or in Redis shared by every worker.

Both check and consume all of a request's limits atomically: either every limit has
room and every one is charged, or nothing changes.
"""

from __future__ import annotations

import threading
import time
import typing as t
from collections.abc import Sequence

from .algorithms import STEPS, Usage, gcra_step
from .redis_urls import parse_storage_url

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
        self._data: dict[str, tuple[float, float]] = {}  # key: (value, expires at)
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

            def read(key: str) -> float:
                item = data.get(key)
                return item[0] if item is not None and item[1] > now else 0.0

            step = self._step
            usages = []
            writes = []
            allowed = True
            for key, limit, cost in checks:
                usage, changes = step(key, limit, cost, now, read)
                usages.append(usage)
                writes += changes
                allowed = allowed and usage.allowed
            if mode in ("force", "refund") or (allowed and mode == "charge"):
                for key, value, ttl in writes:
                    data.pop(key, None)  # re-insert, so dict order is oldest-written first
                    data[key] = (max(value, 0.0), now + ttl)
                self._charges += 1
                if self._charges % 1024 == 0 or len(data) > self._max_keys:
                    self._evict(now)
            return usages

    def _hit_gcra(self, checks: Sequence[Check], mode: Mode) -> list[Usage]:
        # The default algorithm, without the generic read/write indirection: one stored
        # value per limit, which expires exactly when the clock reaches it.
        data = self._data
        with self._lock:
            now = time.monotonic()
            usages = []
            new_tats = []
            allowed = True
            for key, limit, cost in checks:
                item = data.get(key)
                usage, new_tat = gcra_step(limit, cost, now, 0.0 if item is None else item[0])
                usages.append(usage)
                new_tats.append(new_tat)
                allowed = allowed and usage.allowed
            if mode in ("force", "refund") or (allowed and mode == "charge"):
                for (key, _, _), new_tat in zip(checks, new_tats, strict=True):
                    data[key] = (new_tat, new_tat)
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


# Every limit of a request in one script: one round trip, atomic, on Redis's own clock.
# The arithmetic mirrors algorithms.py line for line.
_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local algorithm, mode = ARGV[1], ARGV[2]
-- A refund is a forced negative charge; counts never drop below 0.
local sign = 1
if mode == 'refund' then sign = -1 end
local function read(key)
  local value = redis.call('GET', key)
  if value then return tonumber(value) end
  return 0
end
local results, writes, all_allowed = {}, {}, true
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 4 + 3
  local amount, period = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  local burst, cost = tonumber(ARGV[at + 2]), sign * tonumber(ARGV[at + 3])
  local allowed, remaining, reset, retry = 0, 0, 0, 0
  if algorithm == 'gcra' then
    local interval = period / amount
    local tat = math.max(read(key), now)
    local new_tat = tat + interval * cost
    local allow_at = tat + interval * (cost - burst)
    if now >= allow_at then
      allowed, remaining, reset = 1, math.floor((now - allow_at) / interval + 1e-9), new_tat - now
    else
      remaining = math.max(0, math.floor((now - (tat - interval * burst)) / interval + 1e-9))
      reset, retry = tat - now, allow_at - now
    end
    writes[#writes + 1] = {key, new_tat, new_tat - now}
  else
    local window = math.floor(now / period)
    local elapsed = now - window * period
    local current_key = key .. ':' .. window
    local current = read(current_key)
    if algorithm == 'fixed-window' then
      reset = period - elapsed
      writes[#writes + 1] = {current_key, current + cost, reset}
      if current + cost <= amount then
        allowed, remaining = 1, amount - current - cost
      else
        remaining, retry = math.max(0, amount - current), reset
      end
    else
      local previous = read(key .. ':' .. (window - 1))
      local estimate = previous * (period - elapsed) / period + current
      reset = period - elapsed
      if current > 0 then reset = reset + period end
      writes[#writes + 1] = {current_key, current + cost, 2 * period - elapsed}
      if estimate + cost <= amount then
        allowed, remaining = 1, math.floor(amount - estimate - cost + 1e-9)
      else
        if current + cost > amount or previous <= 0 then
          retry = period - elapsed
        else
          retry = period * (1 - (amount - current - cost) / previous) - elapsed
        end
        retry = math.max(retry, 0.001)
        remaining = math.max(0, math.floor(amount - estimate))
      end
    end
  end
  if allowed == 0 then all_allowed = false end
  results[i] = {allowed, remaining, string.format('%.6f', reset), string.format('%.6f', retry)}
end
if mode == 'force' or mode == 'refund' or (all_allowed and mode == 'charge') then
  for _, write in ipairs(writes) do
    local ttl = math.max(1, math.ceil(write[3] * 1000))
    redis.call('SET', write[1], string.format('%.6f', math.max(0, write[2])), 'PX', ttl)
  end
end
return results
"""


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
        self._script = self._client.register_script(_SCRIPT)
        self._pause_until = 0.0

    def hit(self, checks: Sequence[Check], mode: Mode = "charge") -> list[Usage]:
        if self._pause_until and time.monotonic() < self._pause_until:
            # Just failed: answer at once instead of making every request wait for the
            # timeout; try the server again when the pause is over.
            raise StorageError("Redis failed less than a second ago")
        args: list[str | int] = [self._algorithm, mode]
        for check in checks:
            limit = check.limit
            args += [limit.amount, limit.period, limit.burst, check.cost]
        try:
            rows = self._script(keys=[check.key for check in checks], args=args)
        except self._errors as e:
            self._pause_until = time.monotonic() + _PAUSE_AFTER_ERROR
            raise StorageError(f"{type(e).__name__}: {e}") from e
        self._pause_until = 0.0
        return [
            Usage(bool(allowed), int(remaining), float(reset), float(retry))
            for allowed, remaining, reset, retry in rows
        ]

    def reset(self, prefix: str) -> int:
        try:
            doomed = list(self._client.scan_iter(match=scan_pattern(prefix), count=1000))
            return int(self._client.delete(*doomed)) if doomed else 0
        except self._errors as e:
            raise StorageError(f"{type(e).__name__}: {e}") from e


def open_storage(uri: str, algorithm: str, *, timeout: float, max_keys: int) -> Storage:
    """The storage named by ``uri``: ``memory://``, or a Redis URL of one server, of a
    Redis Cluster's nodes or of Sentinels (see :data:`.redis_urls.SCHEMES`)."""
    if uri == "memory://":
        return MemoryStorage(algorithm, max_keys=max_keys)
    url = parse_storage_url(uri)
    if url.topology == "cluster":
        from .cluster import RedisClusterStorage

        return RedisClusterStorage(algorithm, url, timeout=timeout)
    if url.topology == "sentinel":
        from .sentinel import sentinel_master

        return RedisStorage(
            algorithm, timeout=timeout, client=sentinel_master(url, timeout=timeout)
        )
    return RedisStorage(algorithm, url.server_url, timeout=timeout)
