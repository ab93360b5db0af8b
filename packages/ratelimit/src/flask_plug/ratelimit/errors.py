"""The HTTP errors the limiter raises, with RFC 9457 ``application/problem+json`` bodies."""

from __future__ import annotations

import json
import math
import typing as t

from werkzeug.exceptions import HTTPException

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class _ProblemJSON(HTTPException):
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


class RateLimitExceeded(_ProblemJSON):
    """429 Too Many Requests: a limit of this request has no room left.

    Register ``@app.errorhandler(RateLimitExceeded)`` (or 429) to answer differently;
    the ``Retry-After`` and ``RateLimit`` headers are still added to your response.

    :param limit: the limit that refused the request, as text (``"10 per 1 minute"``).
    :param retry_after: seconds until the request would be allowed.
    """

    code = 429

    def __init__(self, limit: str, retry_after: float) -> None:
        self.limit = limit
        self.retry_after = retry_after
        """Seconds until the request would be allowed (a float; the header rounds up)."""
        seconds = max(1, math.ceil(retry_after))
        super().__init__(f"Rate limit exceeded: {limit}. Try again in {seconds} seconds.")

    def problem(self) -> dict[str, t.Any]:
        return {
            **super().problem(),
            "limit": self.limit,
            "retry_after": max(1, math.ceil(self.retry_after)),
        }


class RateLimitStorageUnavailable(_ProblemJSON):
    """503 Service Unavailable: the limits could not be checked and the policy is "deny"."""

    code = 503

    def __init__(self) -> None:
        super().__init__(
            "Rate limits cannot be checked right now, and this app refuses requests"
            " until they can. Try again shortly."
        )

    def get_headers(
        self, environ: WSGIEnvironment | None = None, scope: dict[str, t.Any] | None = None
    ) -> list[tuple[str, str]]:
        return [*super().get_headers(environ, scope), ("Retry-After", "1")]
