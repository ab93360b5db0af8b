"""The WSGI middleware that times and counts every request."""

from __future__ import annotations

import typing as t
from time import perf_counter

from werkzeug.wsgi import ClosingIterator

from ._state import STARTED

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ._state import StatsState


class StatsMiddleware:
    """Times every request from entry to its response's headers, and counts it as the
    response starts, so 404s, aborts and 500s are counted like the rest."""

    def __init__(self, wsgi_app: WSGIApplication, state: StatsState) -> None:
        self.wsgi_app = wsgi_app
        self._state = state
        self._in_flight = state.metrics.in_flight
        self._history = state.history

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        started = environ[STARTED] = perf_counter()
        history = self._history
        after_response = None
        if started >= history.due:  # the first request of an interval
            after_response = history.tick()
            started = environ[STARTED] = perf_counter()  # the sample is not its time
        state = self._state

        def counted_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            state.record(environ, status, perf_counter() - started)
            return start_response(status, headers, exc_info)

        gauge = self._in_flight
        gauge.inc()
        try:
            body = self.wsgi_app(environ, counted_start_response)
        finally:
            gauge.dec()
        return body if after_response is None else ClosingIterator(body, after_response)
