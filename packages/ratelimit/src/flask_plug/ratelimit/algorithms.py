"""The three algorithms, in Python for the memory storage.

``redis_script.py`` runs the same arithmetic in Lua inside Redis; the tests hold both to
the same results. Each limit of each client keeps one stored value (one Redis key): its
:data:`State`. Times are seconds as floats; a refused request changes no state.
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


State = tuple[float, ...]
"""What one limit stores for one client: ``(tat,)``, the theoretical arrival time, for
GCRA; ``(window, count)`` for a fixed window; ``(window, current, previous)`` for a
sliding one, where ``window`` is the number of the aligned window the counts were made in
(``floor(now / period)``). Redis stores the same numbers, separated by spaces."""
Step = t.Callable[["Limit", int, float, "State | None"], "tuple[Usage, State, float]"]
"""``(limit, cost, now, stored state or None)`` to the usage, and the state to store with
its time to live in seconds if the request is charged: given even when the limit refuses
it, for charges that are forced (``deduct_when``). A negative cost (a refund) never
leaves a count below zero."""


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


def gcra(limit: Limit, cost: int, now: float, stored: State | None) -> tuple[Usage, State, float]:
    """Generic cell rate algorithm: a token bucket of ``burst`` refilled at ``amount/period``."""
    usage, new_tat = gcra_step(limit, cost, now, 0.0 if stored is None else stored[0])
    return usage, (new_tat,), new_tat - now


def fixed_window(
    limit: Limit, cost: int, now: float, stored: State | None
) -> tuple[Usage, State, float]:
    """Counts per aligned window of ``period`` seconds."""
    window = math.floor(now / limit.period)
    count = stored[1] if stored is not None and stored[0] == window else 0.0
    reset = (window + 1) * limit.period - now
    charged = (window, max(0.0, count + cost))
    if count + cost <= limit.amount:
        return Usage(True, int(limit.amount - count - cost), reset, 0.0), charged, reset
    return Usage(False, int(max(0, limit.amount - count)), reset, reset), charged, reset


def sliding_window(
    limit: Limit, cost: int, now: float, stored: State | None
) -> tuple[Usage, State, float]:
    """The current window's count plus the previous one's, weighted by their overlap."""
    period = limit.period
    window = math.floor(now / period)
    elapsed = now - window * period
    current = previous = 0.0
    if stored is not None:
        if stored[0] == window:
            current, previous = stored[1], stored[2]
        elif stored[0] == window - 1:  # its current window is now the previous one
            previous = stored[1]
    weight = (period - elapsed) / period
    estimate = previous * weight + current
    reset = period - elapsed + (period if current > 0 else 0)
    # Kept until the end of the next window, where it is the previous one.
    charged, ttl = (window, max(0.0, current + cost), previous), 2 * period - elapsed
    if estimate + cost <= limit.amount:
        remaining = int(limit.amount - estimate - cost + 1e-9)
        return Usage(True, remaining, reset, 0.0), charged, ttl
    if current + cost > limit.amount or previous <= 0:
        retry_after = period - elapsed  # not before the next window
    else:
        # When the previous window's weight has dropped enough for this request.
        retry_after = period * (1 - (limit.amount - current - cost) / previous) - elapsed
    remaining = int(max(0, limit.amount - estimate))
    return Usage(False, remaining, reset, max(retry_after, 0.001)), charged, ttl


STEPS: dict[str, Step] = {
    "gcra": gcra,
    "fixed-window": fixed_window,
    "sliding-window": sliding_window,
}
