"""``RateLimit-Policy`` and ``RateLimit`` (IETF draft-ietf-httpapi-ratelimit-headers-10),
legacy ``X-RateLimit-*`` and ``Retry-After``."""

from __future__ import annotations

import math
import typing as t

if t.TYPE_CHECKING:
    from .algorithms import Usage
    from .limits import Limit
    from .plan import Plan


def sf_string(text: str) -> str:
    """A Structured Field String (RFC 9651): printable ASCII, quotes and backslashes escaped."""
    safe = "".join(c if " " <= c <= "~" else "?" for c in text)
    return '"' + safe.replace("\\", "\\\\").replace('"', '\\"') + '"'


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
            f"{names[i]};r={usage.remaining};t={math.ceil(usage.reset)}"
            for i, usage in zip(counted, usages, strict=True)
        ]
    )
    return [("RateLimit-Policy", policy), ("RateLimit", state)]


def legacy_headers(
    plan: Plan, counted: t.Sequence[int], usages: t.Sequence[Usage]
) -> list[tuple[str, str]]:
    """``X-RateLimit-Limit/Remaining/Reset`` for the limit closest to refusing."""
    closest = min(range(len(usages)), key=lambda i: (usages[i].remaining, -usages[i].reset))
    usage = usages[closest]
    return [
        ("X-RateLimit-Limit", str(plan.limits[counted[closest]].amount)),
        ("X-RateLimit-Remaining", str(usage.remaining)),
        ("X-RateLimit-Reset", str(math.ceil(usage.reset))),
    ]


def retry_after(usages: t.Sequence[Usage]) -> str:
    """``Retry-After`` in whole seconds, for the longest wait among refused limits."""
    wait = max(usage.retry_after for usage in usages if not usage.allowed)
    return str(max(1, math.ceil(wait)))
