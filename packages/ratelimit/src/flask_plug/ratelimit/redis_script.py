"""The Lua script that checks and charges a request's limits inside Redis, and what goes
into and comes out of it: shared by every storage that keeps counters in Redis.

A storage sends ``EVALSHA`` with :data:`SCRIPT_SHA` (``EVAL`` with :data:`SCRIPT` after a
``NOSCRIPT`` error) and the keys and arguments of :func:`script_keys_and_args` (or, to
write the command itself, :func:`packed_script_arguments`), and turns the reply into
usages with :func:`usages_from_reply`. The script touches no key but those
it is given, one per limit, so it runs in Redis Cluster when they share a slot (the
client's hash tag makes a client's keys share one).
"""

from __future__ import annotations

import hashlib
import typing as t

from .algorithms import Usage

if t.TYPE_CHECKING:
    from collections.abc import Sequence

    from .storage import Check, Mode

# One call for every limit of a request: one round trip, atomic, on Redis's own clock.
# The arithmetic mirrors algorithms.py line for line; each key holds that module's State,
# numbers separated by spaces. Numbers handed to redis.call keep all their digits (Redis
# formats them with 17 significant ones), so the GCRA time needs no string.format. The
# reply is flat integers, four per limit: allowed (0 or 1), remaining, and the reset and
# retry-after times in microseconds.
SCRIPT = """\
local clock = redis.call('TIME')
local now = clock[1] + clock[2] / 1000000
local algorithm, mode = ARGV[1], ARGV[2]
-- A refund is a forced negative charge; counts never drop below 0.
local sign = 1
if mode == 'refund' then sign = -1 end
local floor, max, match = math.floor, math.max, string.match
local stored = redis.call('MGET', unpack(KEYS))
local reply, values, ttls, all_allowed = {}, {}, {}, true
for i = 1, #KEYS do
  local at = i * 4 - 1
  local amount, period = tonumber(ARGV[at]), tonumber(ARGV[at + 1])
  local burst, cost = tonumber(ARGV[at + 2]), sign * tonumber(ARGV[at + 3])
  local allowed, remaining, reset, retry = 0, 0, 0, 0
  if algorithm == 'gcra' then
    local interval = period / amount
    local tat = tonumber(stored[i]) or 0
    if tat < now then tat = now end
    local new_tat = tat + interval * cost
    local allow_at = tat + interval * (cost - burst)
    if now >= allow_at then
      allowed, remaining, reset = 1, floor((now - allow_at) / interval + 1e-9), new_tat - now
    else
      remaining = max(0, floor((now - (tat - interval * burst)) / interval + 1e-9))
      reset, retry = tat - now, allow_at - now
    end
    values[i], ttls[i] = new_tat, new_tat - now
  elseif algorithm == 'fixed-window' then
    local window = floor(now / period)
    local count = 0
    if stored[i] then
      local w, c = match(stored[i], '^(%S+) (%S+)$')
      if tonumber(w) == window then count = tonumber(c) end
    end
    reset = (window + 1) * period - now
    values[i], ttls[i] = window .. ' ' .. max(0, count + cost), reset
    if count + cost <= amount then
      allowed, remaining = 1, amount - count - cost
    else
      remaining, retry = max(0, amount - count), reset
    end
  else
    local window = floor(now / period)
    local elapsed = now - window * period
    local current, previous = 0, 0
    if stored[i] then
      local w, c, p = match(stored[i], '^(%S+) (%S+) (%S+)$')
      w = tonumber(w)
      if w == window then
        current, previous = tonumber(c), tonumber(p)
      elseif w == window - 1 then
        previous = tonumber(c)
      end
    end
    local estimate = previous * ((period - elapsed) / period) + current
    reset = period - elapsed
    if current > 0 then reset = reset + period end
    values[i] = window .. ' ' .. max(0, current + cost) .. ' ' .. previous
    ttls[i] = 2 * period - elapsed
    if estimate + cost <= amount then
      allowed, remaining = 1, floor(amount - estimate - cost + 1e-9)
    else
      if current + cost > amount or previous <= 0 then
        retry = period - elapsed
      else
        retry = period * (1 - (amount - current - cost) / previous) - elapsed
      end
      retry = max(retry, 0.001)
      remaining = max(0, floor(amount - estimate))
    end
  end
  if allowed == 0 then all_allowed = false end
  reply[at - 2], reply[at - 1], reply[at], reply[at + 1] =
    allowed, remaining, reset * 1000000, retry * 1000000
end
if mode == 'force' or mode == 'refund' or (all_allowed and mode == 'charge') then
  for i = 1, #KEYS do
    redis.call('SET', KEYS[i], values[i], 'PX', max(1, math.ceil(ttls[i] * 1000)))
  end
end
return reply
"""

SCRIPT_SHA = hashlib.sha1(SCRIPT.encode()).hexdigest()
"""What ``EVALSHA`` names the script by, once Redis has it."""

_ALGORITHMS = {name: name.encode() for name in ("gcra", "fixed-window", "sliding-window")}
_MODES = {name: name.encode() for name in ("charge", "check", "force", "refund")}


def script_keys_and_args(
    algorithm: str, checks: Sequence[Check], mode: Mode
) -> tuple[list[str], list[bytes]]:
    """The ``KEYS`` and ``ARGV`` of the script for ``checks``: one key per limit, and the
    algorithm, the mode, and each limit's amount, period, burst and cost."""
    args = [_ALGORITHMS[algorithm], _MODES[mode]]
    for check in checks:
        limit = check.limit
        args += (
            b"%d" % limit.amount,
            b"%d" % limit.period,
            b"%d" % limit.burst,
            b"%d" % check.cost,
        )
    return [check.key for check in checks], args


def _bulk(item: bytes) -> bytes:
    """``item`` as a RESP bulk string."""
    return b"$%d\r\n%b\r\n" % (len(item), item)


_PACKED_HEADS = {
    (algorithm, mode): _bulk(algorithm_bytes) + _bulk(mode_bytes)
    for algorithm, algorithm_bytes in _ALGORITHMS.items()
    for mode, mode_bytes in _MODES.items()
}
_PACKED_COSTS = [_bulk(b"%d" % cost) for cost in range(64)]
_packed_limits: dict[tuple[int, int, int], bytes] = {}


def packed_script_arguments(
    algorithm: str, checks: Sequence[Check], mode: Mode, *, encoding: str = "utf-8"
) -> tuple[int, bytes]:
    """What follows the script in the command: ``numkeys``, then the keys and arguments of
    :func:`script_keys_and_args`, as RESP bulk strings. Returns how many, and their bytes.

    The same arguments, packed about three times faster than one by one: what stays the
    same for a limit is packed once.
    """
    parts = [_bulk(b"%d" % len(checks))]
    parts += [_bulk(check.key.encode(encoding)) for check in checks]
    parts.append(_PACKED_HEADS[algorithm, mode])
    for check in checks:
        limit, cost = check.limit, check.cost
        numbers = (limit.amount, limit.period, limit.burst)
        packed = _packed_limits.get(numbers)
        if packed is None:
            if len(_packed_limits) >= 1024:  # limits are few; this only bounds the cache
                _packed_limits.clear()
            packed = _packed_limits[numbers] = b"".join([_bulk(b"%d" % n) for n in numbers])
        parts.append(packed)
        parts.append(_PACKED_COSTS[cost] if 0 <= cost < 64 else _bulk(b"%d" % cost))
    return 3 + 5 * len(checks), b"".join(parts)


def usages_from_reply(reply: Sequence[int]) -> list[Usage]:
    """The usages in the script's reply, one per limit in the order they were sent."""
    return [
        Usage(reply[i] == 1, reply[i + 1], reply[i + 2] / 1e6, reply[i + 3] / 1e6)
        for i in range(0, len(reply), 4)
    ]
