"""The WSGI middleware that sends the rate limit headers of every limited response."""

from __future__ import annotations

import typing as t

from .headers import legacy_headers, ratelimit_headers, retry_after

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .algorithms import Usage
    from .plan import Plan
    from .settings import LimiterSettings

APPLIED = "flask_plug.ratelimit.applied"
"""The WSGI environ key under which the request hook leaves the :class:`Applied` limits."""


class Applied(t.NamedTuple):
    """The limits the request hook counted, for the middleware to report."""

    plan: Plan
    counted: list[int]
    """The index in ``plan.limits`` of each limit counted (``exempt_when`` and cost 0 skip some)."""
    usages: list[Usage]
    """The usage of each counted limit, in the same order."""


class HeadersMiddleware:
    """Adds the rate limit headers to the WSGI header list as the response starts: every
    response to a limited request gets them, whatever produced it."""

    def __init__(self, wsgi_app: WSGIApplication, settings: LimiterSettings) -> None:
        self.wsgi_app = wsgi_app
        self._headers = settings.headers
        self._legacy = settings.legacy_headers
        self._unix_reset = settings.legacy_reset == "unix"

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        def limited_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            applied: Applied | None = environ.get(APPLIED)
            if applied is not None:
                plan, counted, usages = applied
                if self._headers:
                    headers += ratelimit_headers(plan, counted, usages)
                if self._legacy:
                    headers += legacy_headers(plan, counted, usages, unix_reset=self._unix_reset)
                if status.startswith("429") and not all(u.allowed for u in usages):
                    headers.append(("Retry-After", retry_after(usages)))
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, limited_start_response)
