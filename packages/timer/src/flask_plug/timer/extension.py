"""The :class:`Timer` extension."""

from __future__ import annotations

import functools
import typing as t
from time import perf_counter_ns

from ._state import EXTENSION_KEY
from .middleware import TimingMiddleware
from .settings import TimerOptions, resolve
from .spans import RequestTiming, Span, find_timing

if t.TYPE_CHECKING:
    from flask import Flask
    from typing_extensions import Unpack

__all__ = ["EXTENSION_KEY", "Timer"]


class Timer:
    """Time every request and report it in the ``Server-Timing`` header.

    Options given here apply to every app this object is registered on; options given to
    :meth:`init_app` apply to that app only. An option left as ``None`` is read from the
    ``TIMER_*`` config key of the same name, then falls back to its default.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param spans: send named spans, not only the total. Span names describe your code,
        so the default is on in debug mode only. Config ``TIMER_SPANS``.
    :param log: log ``GET /path 200 12.345 ms`` on ``app.logger`` for every request.
        Default: on in debug mode. Config ``TIMER_LOG``.
    :param log_level: the level of that line: a name such as ``"INFO"`` or a number.
        Default ``"INFO"``. Config ``TIMER_LOG_LEVEL``.
    :param response_time_header: also send ``X-Response-Time: 12.345ms``. Default off.
        Config ``TIMER_RESPONSE_TIME_HEADER``.
    :param timing_allow_origin: ``"*"`` or origins allowed to read the timings from
        cross-origin pages, sent as ``Timing-Allow-Origin``. Default none.
        Config ``TIMER_TIMING_ALLOW_ORIGIN``.
    :param metric_name: the name of the total metric, an HTTP token. Default ``"app"``.
        Config ``TIMER_METRIC_NAME``.
    :param sqlalchemy: add the time and number of the request's SQLAlchemy queries as a
        ``db`` metric (``db;dur=12.3;desc="4 queries"``). Needs SQLAlchemy. Default off.
        Config ``TIMER_SQLALCHEMY``.
    :param otel: mirror every span as an OpenTelemetry span, a child of the current one.
        Needs the ``otel`` extra. Default off. Config ``TIMER_OTEL``.

    .. versionchanged:: 0.2
        The ``log`` line escapes the method and the path: always one line of five fields.
        It is logged at ``INFO`` (was ``DEBUG``), or at ``log_level``.

    .. versionadded:: 0.2
        The ``log_level``, ``sqlalchemy`` and ``otel`` options.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[TimerOptions]) -> None:
        self._options = dict(options)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **options: Unpack[TimerOptions]) -> None:
        """Register the timer on ``app``; the options are those of :class:`Timer`.

        :raises RuntimeError: if a timer is already registered on ``app``, or an option
            needs a package that is not installed.
        :raises ValueError: if an option or ``TIMER_*`` config value is invalid.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-timer is already registered on this app; call init_app once per app"
            )
        given = {k: v for k, v in options.items() if v is not None}
        settings = resolve(app, {**self._options, **given})
        new_timing: t.Callable[[int], RequestTiming] = RequestTiming
        # The optional parts are imported only when asked for: an app without them never
        # imports SQLAlchemy or OpenTelemetry through the timer.
        if settings.sqlalchemy:
            from . import queries

            queries.listen()
        if settings.otel:
            from . import otel

            new_timing = functools.partial(
                otel.OTelRequestTiming, tracer=otel.tracer(), sql=settings.sqlalchemy
            )
        elif settings.sqlalchemy:
            new_timing = functools.partial(RequestTiming, sql=True)
        app.extensions[EXTENSION_KEY] = settings
        app.wsgi_app = TimingMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, app, settings, new_timing
        )

    def span(self, name: str, desc: str | None = None) -> Span:
        """A span timing a block of the current request, as ``with`` or as a decorator.

        ::

            with timer.span("db", desc="load user"):
                user = db.session.get(User, user_id)

            @timer.span("render")
            def render_page(): ...

        :param name: the metric name, an HTTP token such as ``db``.
        :param desc: an optional description; text a header cannot carry is escaped (see
            :class:`Span`).
        :raises ValueError: at this call, if ``name`` is not a token.

        .. versionchanged:: 0.2
            A description never raises.
        """
        return Span(name, desc)

    def start(self, name: str, desc: str | None = None) -> None:
        """Start a span of the current request, for code that cannot use a ``with`` block
        (a pair of event hooks); :meth:`stop` ends it.

        ::

            @event.listens_for(engine, "before_cursor_execute")
            def before(*args):
                timer.start("sql")

            @event.listens_for(engine, "after_cursor_execute")
            def after(*args):
                timer.stop("sql")

        A span never stopped is ended when the response starts and marked ``unfinished=1``,
        like a ``with`` span still open then. Started twice, a name needs two stops. With
        ``TIMER_OTEL`` it is an OpenTelemetry span too, but never the current span: its
        parent is the span current at this call, and it is the parent of nothing.

        :param name: the metric name, an HTTP token.
        :param desc: an optional description (see :class:`Span`).
        :raises ValueError: at this call, if ``name`` is not a token.

        .. versionadded:: 0.2
        """
        span = Span(name, desc)
        timing = find_timing()
        if timing is not None:
            timing.opened(span, perf_counter_ns(), current=False)

    def stop(self, name: str) -> None:
        """End the latest open span named ``name`` in the current request.

        It never raises: with no such span open, the call is ignored and logged once per
        name as a warning; after the response started (a thread that outlived it), it is
        counted and logged at debug level. Outside a request it does nothing.

        :param name: the name given to :meth:`start` (or to a ``with`` span).

        .. versionadded:: 0.2
        """
        timing = find_timing()
        if timing is not None:
            timing.stop(name, perf_counter_ns())
