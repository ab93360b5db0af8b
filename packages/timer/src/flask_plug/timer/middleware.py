"""The WSGI middleware that times each request and writes the timing headers."""

from __future__ import annotations

import typing as t
from time import perf_counter_ns

from .escaping import escape_wsgi
from .headers import format_duration
from .signals import request_timed
from .spans import ENVIRON_KEY, RequestTiming, current_timing

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask

    from .settings import TimerSettings


class TimingMiddleware:
    """Wraps ``app.wsgi_app``, so the total covers all of Flask's work, hooks included.

    The headers are added when the response starts: that is the last moment a header can
    be sent, and it is reached for every response Flask produces, error pages included.
    """

    def __init__(
        self,
        wsgi_app: WSGIApplication,
        app: Flask,
        settings: TimerSettings,
        new_timing: t.Callable[[int], RequestTiming] = RequestTiming,
    ) -> None:
        self.wsgi_app = wsgi_app
        self._app = app
        # Chosen once here, so an option that is off costs no branch per request.
        self._new_timing = new_timing
        self._total_prefix = settings.metric_name + ";dur="
        self._spans = settings.spans
        self._response_time = settings.response_time_header
        self._log = settings.log
        self._log_level = settings.log_level
        self._timing_allow_origin = (
            ("Timing-Allow-Origin", ", ".join(settings.timing_allow_origin))
            if settings.timing_allow_origin
            else None
        )

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        timing = self._new_timing(perf_counter_ns())
        token = current_timing.set(timing)
        environ[ENVIRON_KEY] = timing

        def timed_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            self._add_headers(environ, timing, status, headers)
            return start_response(status, headers, exc_info)

        try:
            return self.wsgi_app(environ, timed_start_response)
        finally:
            # The body may still stream after this, but its headers have been sent.
            current_timing.reset(token)

    def _add_headers(
        self,
        environ: WSGIEnvironment,
        timing: RequestTiming,
        status: str,
        headers: list[tuple[str, str]],
    ) -> None:
        end_ns = perf_counter_ns()
        timing.finish(end_ns)
        duration_ns = end_ns - timing.start_ns
        total = format_duration(duration_ns)
        # A new header field, so Server-Timing set by the view or an upstream layer is kept.
        if self._spans:
            headers.append(
                ("Server-Timing", ", ".join([self._total_prefix + total, *timing.metrics()]))
            )
        else:
            headers.append(("Server-Timing", self._total_prefix + total))
        if self._response_time:
            headers.append(("X-Response-Time", total + "ms"))
        if self._timing_allow_origin is not None:
            headers.append(self._timing_allow_origin)
        if self._log:
            self._app.logger.log(
                self._log_level,
                "%s %s %s %s ms",
                escape_wsgi(environ.get("REQUEST_METHOD", "")) or "-",
                escape_wsgi(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "-",
                status[:3],
                total,
            )
        if request_timed.receivers:
            self._send_signal(timing, duration_ns, int(status[:3]))

    def _send_signal(self, timing: RequestTiming, duration_ns: int, status: int) -> None:
        try:
            request_timed.send(
                self._app, duration=duration_ns / 1e9, status=status, spans=timing.span_timings()
            )
        except Exception:
            # A broken receiver must not turn a finished response into a server error.
            self._app.logger.exception("a request_timed receiver failed")
