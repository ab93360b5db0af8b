"""What the current request's limits leave: for views that tell clients their quota."""

from __future__ import annotations

import typing as t

from flask import has_request_context, request

from .middleware import APPLIED

if t.TYPE_CHECKING:
    from .middleware import Applied


class Quota(t.NamedTuple):
    """One limit counted for the current request, and where it stands.

    .. versionadded:: 0.2
    """

    name: str
    """The limit's policy name, as the ``RateLimit`` headers give it: ``"login/5-60"``."""
    limit: str
    """The limit as text: ``"5 per 1 minute"``."""
    amount: int
    """Requests allowed per ``period``."""
    period: int
    """The limit's period in seconds."""
    remaining: int
    """Requests still allowed now."""
    reset: float
    """Seconds until the full quota is available again."""
    retry_after: float
    """Seconds until the request would be allowed: ``0`` unless this limit refused it."""


def current_limits() -> tuple[Quota, ...]:
    """The limits counted for the current request, each with what it leaves: what the
    ``RateLimit`` header tells, for a view (or an error handler) to use.

    Empty outside a request, and for a request no limit counted (none applies, it is
    exempt, or the storage could not be asked). In a view, ``remaining`` is what is left
    after this request; a ``deduct_when`` limit is charged after the view, so it shows
    what is left before.

    .. versionadded:: 0.2
    """
    if not has_request_context():
        return ()
    applied: Applied | None = request.environ.get(APPLIED)
    if applied is None:
        return ()
    plan, counted, usages = applied
    return tuple(
        Quota(
            plan.labels[index],
            plan.limits[index].text,
            plan.limits[index].amount,
            plan.limits[index].period,
            usage.remaining,
            usage.reset,
            usage.retry_after,
        )
        for index, usage in zip(counted, usages, strict=True)
    )
