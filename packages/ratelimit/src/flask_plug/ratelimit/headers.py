"""``RateLimit-Policy`` and ``RateLimit`` (IETF draft-ietf-httpapi-ratelimit-headers-10),
legacy ``X-RateLimit-*`` and ``Retry-After``."""

from __future__ import annotations

import math
import time
import typing as t

if t.TYPE_CHECKING:
    from .algorithms import Usage
    from .limits import Limit
    from .plan import Plan


def sf_string(text: str) -> str:
    """A Structured Field String (RFC 9651): printable ASCII, quotes and backslashes escaped."""
    safe = "".join(c if " " <= c <= "~" else "?" for c in text)
    return '"' + safe.replace("\\", "\\\\").replace('"', '\\"') + '"'


def whole_seconds(seconds: float) -> int:
    """``seconds`` rounded up, ignoring what is below a microsecond: float noise such as
    ``12.000000000000014`` (and Redis answers in microseconds anyway)."""
    return math.ceil(seconds - 1e-6)


def policy_header(names: t.Sequence[str], limits: t.Sequence[Limit]) -> str:
    """``RateLimit-Policy``: each limit's quota ``q`` per window ``w`` seconds."""
    return ", ".join(
        f"{name};q={limit.amount};w={limit.period}"
        for name, limit in zip(names, limits, strict=True)
    )


def ratelimit_headers(
    plan: Plan, counted: t.Sequence[int], usages: t.Sequence[Usage]
) -> list[tuple[str, str]]:
    """``RateLimit-Policy`` and ``RateLimit`` for the limits counted for a request."""
    names = plan.names
    if len(counted) == len(plan.limits):
        policy = plan.policy_header
    else:  # some were skipped (exempt_when, cost 0)
        policy = policy_header([names[i] for i in counted], [plan.limits[i] for i in counted])
    state = ", ".join(
        [
            f"{names[i]};r={usage.remaining};t={whole_seconds(usage.reset)}"
            for i, usage in zip(counted, usages, strict=True)
        ]
    )
    return [("RateLimit-Policy", policy), ("RateLimit", state)]


def legacy_headers(
    plan: Plan, counted: t.Sequence[int], usages: t.Sequence[Usage], *, unix_reset: bool = False
) -> list[tuple[str, str]]:
    """``X-RateLimit-Limit/Remaining/Reset`` for one limit: the one that refused the
    request (the longest wait, as the 429's body names), else the closest to refusing.

    :param unix_reset: ``X-RateLimit-Reset`` as a Unix time, from this process's clock,
        instead of seconds from now.
    """
    indexes = range(len(usages))
    refused = [i for i in indexes if not usages[i].allowed]
    if refused:
        shown = max(refused, key=lambda i: usages[i].retry_after)
    else:
        shown = min(indexes, key=lambda i: (usages[i].remaining, -usages[i].reset))
    usage = usages[shown]
    # The storage's seconds are relative (Redis's clock, or this process's monotonic
    # one): only this process's wall clock can turn them into a time of day.
    reset = whole_seconds(time.time() + usage.reset) if unix_reset else whole_seconds(usage.reset)
    return [
        ("X-RateLimit-Limit", str(plan.limits[counted[shown]].amount)),
        ("X-RateLimit-Remaining", str(usage.remaining)),
        ("X-RateLimit-Reset", str(reset)),
    ]


def retry_after(usages: t.Sequence[Usage]) -> str:
    """``Retry-After`` in whole seconds, for the longest wait among refused limits."""
    wait = max(usage.retry_after for usage in usages if not usage.allowed)
    return str(max(1, whole_seconds(wait)))
