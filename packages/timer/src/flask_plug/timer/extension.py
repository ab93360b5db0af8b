"""The :class:`Timer` extension."""

from __future__ import annotations

import typing as t

from ._state import EXTENSION_KEY
from .middleware import TimingMiddleware
from .settings import TimerOptions, resolve
from .spans import Span

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
    :param log: log ``GET /path 200 12.345 ms`` at debug level on ``app.logger`` for every
        request. Default: on in debug mode. Config ``TIMER_LOG``.
    :param response_time_header: also send ``X-Response-Time: 12.345ms``. Default off.
        Config ``TIMER_RESPONSE_TIME_HEADER``.
    :param timing_allow_origin: ``"*"`` or origins allowed to read the timings from
        cross-origin pages, sent as ``Timing-Allow-Origin``. Default none.
        Config ``TIMER_TIMING_ALLOW_ORIGIN``.
    :param metric_name: the name of the total metric, an HTTP token. Default ``"app"``.
        Config ``TIMER_METRIC_NAME``.

    .. versionchanged:: 0.2
        The ``log`` line escapes the method and the path: always one line of five fields.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[TimerOptions]) -> None:
        self._options = dict(options)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **options: Unpack[TimerOptions]) -> None:
        """Register the timer on ``app``; the options are those of :class:`Timer`.

        :raises RuntimeError: if a timer is already registered on ``app``.
        :raises ValueError: if an option or ``TIMER_*`` config value is invalid.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-timer is already registered on this app; call init_app once per app"
            )
        given = {k: v for k, v in options.items() if v is not None}
        settings = resolve(app, {**self._options, **given})
        app.extensions[EXTENSION_KEY] = settings
        app.wsgi_app = TimingMiddleware(app.wsgi_app, app, settings)  # type: ignore[method-assign]

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
