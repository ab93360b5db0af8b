"""The HTTP errors the limiter raises, with RFC 9457 ``application/problem+json`` bodies."""

from __future__ import annotations

import json
import typing as t

from werkzeug.exceptions import HTTPException, ServiceUnavailable, TooManyRequests

from .headers import whole_seconds

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class _ProblemJSON(HTTPException):
    """A body and headers of our own, ahead of those of the Werkzeug error a subclass also
    derives from (so that ``@app.errorhandler(429)`` handles it)."""

    def problem(self) -> dict[str, t.Any]:
        return {
            "type": "about:blank",
            "title": self.name,
            "status": self.code,
            "detail": self.description,
        }

    def get_body(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
    ) -> str:
        return json.dumps(self.problem())

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
    ) -> list[tuple[str, str]]:
        return [("Content-Type", "application/problem+json")]


class RateLimitExceeded(_ProblemJSON, TooManyRequests):
    """429 Too Many Requests: a limit of this request has no room left.

    Register ``@app.errorhandler(RateLimitExceeded)`` (or 429) to answer differently;
    the ``Retry-After`` and ``RateLimit`` headers are still added to your response.

    :param limit: the limit that refused the request, as text (``"10 per 1 minute"``).
    :param retry_after: seconds until the request would be allowed.

    .. versionchanged:: 0.2
        A Werkzeug ``TooManyRequests``, so that a handler for 429 handles it too.
    """

    code = 429
    # Werkzeug's attribute holds whole seconds or a date; this one is exact.
    retry_after: float  # type: ignore[assignment]
    """Seconds until the request would be allowed (a float; the header rounds up)."""

    def __init__(self, limit: str, retry_after: float) -> None:
        seconds = max(1, whole_seconds(retry_after))
        super().__init__(f"Rate limit exceeded: {limit}. Try again in {seconds} seconds.")
        self.limit = limit
        self.retry_after = retry_after

    def problem(self) -> dict[str, t.Any]:
        return {
            **super().problem(),
            "limit": self.limit,
            "retry_after": max(1, whole_seconds(self.retry_after)),
        }


class RateLimitNeverAllowed(_ProblemJSON, TooManyRequests):
    """429 Too Many Requests, for good: the request costs more than one of its limits
    ever allows at once (its ``burst`` with GCRA, its amount with the window algorithms),
    so no wait would let it through. Nothing is charged, and no ``Retry-After`` is sent:
    the client must send a smaller request, not the same one later.

    Its problem ``type`` tells it apart from :class:`RateLimitExceeded`, and its
    ``retry_after`` is ``None``; register ``@app.errorhandler(RateLimitNeverAllowed)``
    (or 429) to answer differently.

    :param limit: the limit, as text (``"5 per 1 minute"``).
    :param cost: what the request costs.
    :param max_cost: the most that limit allows at once.

    .. versionadded:: 0.2
    """

    code = 429
    # The problem type: where the docs explain this answer.
    type = "https://flask-plug.github.io/flask-plug/ratelimit.html#requests-that-can-never-pass"

    def __init__(self, limit: str, cost: int, max_cost: int) -> None:
        super().__init__(
            f"This request costs {cost}, but the limit {limit} allows at most {max_cost}"
            " at once: it can never succeed. Send a smaller request."
        )
        self.limit = limit
        """The limit the request can never pass, as text."""
        self.cost = cost
        """What the request costs."""
        self.max_cost = max_cost
        """The most that limit allows at once: its ``burst`` with GCRA, else its amount."""

    def problem(self) -> dict[str, t.Any]:
        return {
            **super().problem(),
            "type": self.type,
            "title": "Request costs more than a rate limit allows",
            "limit": self.limit,
            "cost": self.cost,
            "max_cost": self.max_cost,
        }


class RateLimitStorageUnavailable(_ProblemJSON, ServiceUnavailable):
    """503 Service Unavailable: the limits could not be checked and the policy is "deny".

    .. versionchanged:: 0.2
        A Werkzeug ``ServiceUnavailable``, so that a handler for 503 handles it too.
    """

    code = 503

    def __init__(self) -> None:
        super().__init__(
            "Rate limits cannot be checked right now, and this app refuses requests"
            " until they can. Try again shortly.",
            retry_after=1,
        )

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
    ) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("Retry-After", "1")]
