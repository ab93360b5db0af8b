"""``on_breach``: the app's own answer when a limit refuses a request."""

from __future__ import annotations

import typing as t

from flask import current_app

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from .plan import OnBreach


class Breach(t.NamedTuple):
    """A limit refusing a request, as ``on_breach`` functions receive it.

    .. versionadded:: 0.2
    """

    limit: str
    """The limit that refused the request, as text: ``"5 per 1 minute"``."""
    name: str
    """Its policy name, as the ``RateLimit`` headers give it: ``"login/5-60"``."""
    key: str
    """Who is counted: what the limit's key function returned for this request."""
    retry_after: float
    """Seconds until the request would be allowed."""


def answer_breach(callbacks: list[tuple[OnBreach, Breach]]) -> Response | None:
    """Call each ``on_breach`` function with its breach, in order; the first response one
    returns, or ``None`` when none does.

    A function that raises is logged and counts as returning ``None``: the request still
    gets the limiter's own ``429``.
    """
    answer = None
    for callback, breach in callbacks:
        try:
            value = callback(breach)
            if value is not None and answer is None:
                answer = current_app.make_response(value)
        except Exception:
            current_app.logger.exception(
                "flask-plug-ratelimit: on_breach function %s failed; answering 429",
                getattr(callback, "__qualname__", repr(callback)),
            )
    return answer
