"""``RateLimit-Policy`` and ``RateLimit`` (IETF draft-ietf-httpapi-ratelimit-headers-10),
legacy ``X-RateLimit-*`` and ``Retry-After``."""

from __future__ import annotations

import math
import typing as t

if t.TYPE_CHECKING:
    from .algorithms import Usage
    from .limits import Limit


def sf_string(text: str) -> str:
    """A Structured Field String (RFC 9651): printable ASCII, quotes and backslashes escaped."""
    safe = "".join(c if " " <= c <= "~" else "?" for c in text)
    return '"' + safe.replace("\\", "\\\\").replace('"', '\\"') + '"'


def ratelimit_headers(
    applied: t.Sequence[tuple[str, Limit]],
    usages: t.Sequence[Usage],
    *,
    legacy: bool,
) -> list[tuple[str, str]]:
    """The headers describing every limit applied to a request.

    :param applied: ``(policy name, limit)`` for each limit, in order.
    """
    policies = []
    states = []
    for (name, limit), usage in zip(applied, usages, strict=True):
        policy = sf_string(name)
        policies.append(f"{policy};q={limit.amount};w={limit.period}")
        states.append(f"{policy};r={usage.remaining};t={math.ceil(usage.reset)}")
    headers = [("RateLimit-Policy", ", ".join(policies)), ("RateLimit", ", ".join(states))]
    if legacy:
        # The legacy fields describe one limit: the one closest to refusing.
        index = min(range(len(usages)), key=lambda i: (usages[i].remaining, -usages[i].reset))
        headers += [
            ("X-RateLimit-Limit", str(applied[index][1].amount)),
            ("X-RateLimit-Remaining", str(usages[index].remaining)),
            ("X-RateLimit-Reset", str(math.ceil(usages[index].reset))),
        ]
    return headers


def retry_after(usages: t.Sequence[Usage]) -> str:
    """``Retry-After`` in whole seconds, for the longest wait among refused limits."""
    wait = max(usage.retry_after for usage in usages if not usage.allowed)
    return str(max(1, math.ceil(wait)))
