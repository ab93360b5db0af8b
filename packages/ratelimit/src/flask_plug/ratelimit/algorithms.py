"""The three algorithms, in Python for the memory storage.

``storage.py`` runs the same arithmetic in Lua inside Redis; the tests hold both to the
same results. Times are seconds as floats; a refused request changes no state.
"""

from __future__ import annotations

import math
import typing as t

if t.TYPE_CHECKING:
    from .limits import Limit

ALGORITHMS = ("gcra", "fixed-window", "sliding-window")


class Usage(t.NamedTuple):
    """Where one limit stands for one client after a request."""

    allowed: bool
    remaining: int
    """Requests still allowed now (after this one, if it was allowed)."""
    reset: float
    """Seconds until the full quota is available again."""
    retry_after: float
    """Seconds until this request would be allowed (0 if it was)."""


Read = t.Callable[[str], float]
"""Reads a stored number (0 if absent)."""
Step = tuple[Usage, list[tuple[str, float, float]]]
"""The usage, and the ``(key, value, ttl_seconds)`` to store if the request is charged:
given even when the limit refuses it, for charges that are forced (``deduct_when``)."""


def gcra_step(limit: Limit, cost: int, now: float, tat: float) -> tuple[Usage, float]:
    """GCRA on one stored value, the theoretical arrival time ``tat`` (0 if none).

    Returns the usage and the new ``tat`` to store if the request is charged. The new
    value can be forgotten once the clock passes it.
    """
    interval = limit.interval
    if tat < now:
        tat = now
    new_tat = tat + interval * cost
    # Not new_tat - interval * burst: for a client's first request at full burst that
    # rounds to just after ``now`` about once in 5000 and refuses it.
    allow_at = tat + interval * (cost - limit.burst)
    if now >= allow_at:
        return Usage(True, int((now - allow_at) / interval + 1e-9), new_tat - now, 0.0), new_tat
    remaining = max(0, int((now - (tat - interval * limit.burst)) / interval + 1e-9))
    return Usage(False, remaining, tat - now, allow_at - now), new_tat


def gcra(key: str, limit: Limit, cost: int, now: float, read: Read) -> Step:
    """Generic cell rate algorithm: a token bucket of ``burst`` refilled at ``amount/period``."""
    usage, new_tat = gcra_step(limit, cost, now, read(key))
    return usage, [(key, new_tat, new_tat - now)]


def fixed_window(key: str, limit: Limit, cost: int, now: float, read: Read) -> Step:
    """Counts per aligned window of ``period`` seconds."""
    window = math.floor(now / limit.period)
    window_key = f"{key}:{window}"
    count = read(window_key)
    reset = (window + 1) * limit.period - now
    if count + cost <= limit.amount:
        remaining = int(limit.amount - count - cost)
        return Usage(True, remaining, reset, 0.0), [(window_key, count + cost, reset)]
    refused = Usage(False, int(max(0, limit.amount - count)), reset, reset)
    return refused, [(window_key, count + cost, reset)]


def sliding_window(key: str, limit: Limit, cost: int, now: float, read: Read) -> Step:
    """The current window's count plus the previous one's, weighted by their overlap."""
    period = limit.period
    window = math.floor(now / period)
    elapsed = now - window * period
    current_key, previous_key = f"{key}:{window}", f"{key}:{window - 1}"
    current, previous = read(current_key), read(previous_key)
    weight = (period - elapsed) / period
    estimate = previous * weight + current
    reset = period - elapsed + (period if current > 0 else 0)
    writes = [(current_key, current + cost, 2 * period - elapsed)]
    if estimate + cost <= limit.amount:
        remaining = int(limit.amount - estimate - cost + 1e-9)
        return Usage(True, remaining, reset, 0.0), writes
    if current + cost > limit.amount or previous <= 0:
        retry_after = period - elapsed  # not before the next window
    else:
        # When the previous window's weight has dropped enough for this request.
        retry_after = period * (1 - (limit.amount - current - cost) / previous) - elapsed
    remaining = int(max(0, limit.amount - estimate))
    return Usage(False, remaining, reset, max(retry_after, 0.001)), writes


STEPS = {"gcra": gcra, "fixed-window": fixed_window, "sliding-window": sliding_window}
