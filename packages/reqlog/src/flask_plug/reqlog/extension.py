"""The :class:`RequestLog` extension."""

from __future__ import annotations

import typing as t

from flask import current_app, has_request_context, request

from ._state import EXTENSION_KEY, State, get_state
from .devserver import redact_dev_server_log
from .fields import collect_at_teardown
from .middleware import REQUEST_ID_KEY, RequestLogMiddleware
from .outputs import make_writer
from .request_id import RequestIdFilter
from .settings import check_options, resolve

if t.TYPE_CHECKING:
    from flask import Flask
    from typing_extensions import Unpack

    from .settings import RequestLogOptions, RequestLogSettings


class RequestLog:
    """Log every request in one line, give each a request id, and write off the request
    thread.

    Options given here apply to every app this object is registered on; options given to
    :meth:`init_app` apply to that app only. An option left as ``None`` is read from the
    ``REQLOG_*`` config key of the same name, then falls back to its default.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param format: ``"combined"`` (default), ``"common"``, ``"json"``, ``"combined+id"``
        or ``"common+id"`` (the request id at the end), or a format string of atoms such
        as ``'%h "%r" %>s %{ms}T'``. Config ``REQLOG_FORMAT``.
    :param output: ``"stdout"`` (default, also ``"-"``), ``"stderr"``, a file path
        (relative paths are in the instance folder), ``"logger:<name>"`` or a
        :class:`logging.Logger`, which gets each line as an INFO record. Config
        ``REQLOG_OUTPUT``.
    :param max_bytes: rotate the file before it grows past this many bytes. Config
        ``REQLOG_MAX_BYTES``.
    :param rotate_when: rotate the file on a schedule: ``"midnight"``, ``"H"``, ``"D"``,
        ``"W0"`` (Monday) … as :class:`logging.handlers.TimedRotatingFileHandler` reads
        it. Config ``REQLOG_ROTATE_WHEN``.
    :param backup_count: rotated files kept. Default 7. Config ``REQLOG_BACKUP_COUNT``.
    :param request_id_header: the header request ids are echoed in and, unless
        ``request_id_from`` says otherwise, read from. Default ``"X-Request-ID"``. Config
        ``REQLOG_REQUEST_ID_HEADER``.
    :param trust_request_id: keep an incoming id that is 1 to 128 safe characters
        (letters, digits, ``+/=._:-``); otherwise, or when ``False``, make a new one.
        Default ``True``. Config ``REQLOG_TRUST_REQUEST_ID``.
    :param request_id_from: the headers an incoming id is read from, in order; the first
        that holds a valid id wins. ``traceparent`` gives its trace id,
        ``X-Amzn-Trace-Id`` its ``Root``, any other header its whole value if safe.
        Default: ``request_id_header`` alone. Config ``REQLOG_REQUEST_ID_FROM``.
    :param redact: more names of query parameters and headers whose values are replaced
        by ``REDACTED``, on top of the built-in list. Config ``REQLOG_REDACT``.
    :param extra_fields: a function called with no arguments as each request ends, while
        ``request`` and ``g`` are there, returning a dict of extra fields for the line:
        JSON lines carry them all, format strings name them (``%{user_id}n``). Config
        ``REQLOG_EXTRA_FIELDS``.
    :param skip_paths: paths not logged when the response is a success (below 400);
        an entry ending in ``*`` is a prefix. Config ``REQLOG_SKIP_PATHS``.
    :param sample: the share of successful responses logged, above 0 and at most 1.
        Responses of 400 and above are always logged. Config ``REQLOG_SAMPLE``.
    :param queue_size: requests that may wait for the writer thread; when it falls that far
        behind (a hung disk or logging backend), further lines are dropped and their count
        logged as a warning on the ``flask_plug.reqlog`` logger. Default 10,000. Config
        ``REQLOG_QUEUE_SIZE``.
    :param flush_interval: seconds the writer thread gathers lines before writing them in
        one go, from 0 to 60. Default 0.1: a few writes a second however busy the app. A
        process killed with ``SIGKILL`` loses the lines of at most this long; 0 writes each
        line as soon as the thread takes it. Config ``REQLOG_FLUSH_INTERVAL``.

    .. versionadded:: 0.2
        The ``queue_size``, ``flush_interval``, ``request_id_from`` and ``extra_fields``
        options.

    .. versionchanged:: 0.2
        A write that fails (a removed directory, a full disk) costs its lines, not the
        writer thread; more names are redacted (see :data:`DEFAULT_REDACT_PARTS`).

    .. versionchanged:: 0.2
        Methods used on an app the log is not registered on raise ``RuntimeError``, not
        ``KeyError``.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[RequestLogOptions]) -> None:
        check_options(options)
        self._options = dict(options)
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **options: Unpack[RequestLogOptions]) -> None:
        """Register the request log on ``app``; the options are those of :class:`RequestLog`.

        Register it after the other extensions that wrap ``app.wsgi_app``, so the logged
        duration covers them too.

        :raises RuntimeError: if a request log is already registered on ``app``.
        :raises ValueError: if an option or ``REQLOG_*`` config value is invalid, or the
            log file cannot be opened.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-reqlog is already registered on this app; call init_app once per app"
            )
        given = {k: v for k, v in options.items() if v is not None}
        settings = resolve(app, {**self._options, **given})
        writer = make_writer(settings)
        app.extensions[EXTENSION_KEY] = State(settings, writer)
        app.wsgi_app = RequestLogMiddleware(  # type: ignore[method-assign]
            app.wsgi_app, settings, writer
        )
        if not any(isinstance(f, RequestIdFilter) for f in app.logger.filters):
            app.logger.addFilter(RequestIdFilter())
        _add_request_id_to_g(app)
        if settings.extra_fields is not None:
            collect_at_teardown(app, settings.extra_fields)
        redact_dev_server_log(settings.redactor)

    def settings(self, app: Flask | None = None) -> RequestLogSettings:
        """The resolved settings of ``app`` (default: the current app)."""
        return get_state(app or current_app).settings

    def flush(self, app: Flask | None = None, timeout: float | None = None) -> bool:
        """Wait until every line queued so far for ``app`` is written.

        :returns: ``False`` if ``timeout`` seconds passed first.
        """
        return get_state(app or current_app).writer.flush(timeout)

    def dropped(self, app: Flask | None = None) -> int:
        """How many of ``app``'s lines this process did not write: dropped because the
        queue was full, lost to a failed write (a removed directory, a full disk), or whose
        format raised. Each outage is also logged as a warning on the ``flask_plug.reqlog``
        logger when it starts and, with its count, when writing resumes.

        Counted from the start of the process (of each worker, with gunicorn); a line
        written in part by a write that failed half-way counts as lost.

        .. versionadded:: 0.2
        """
        return get_state(app or current_app).writer.dropped()

    def close(self, app: Flask | None = None) -> None:
        """Write what is queued for ``app`` and stop its writer thread.

        This happens by itself when the interpreter exits; call it from a shutdown hook
        that ends the process in another way. A later request starts the thread again.
        """
        get_state(app or current_app).writer.close()


def _add_request_id_to_g(app: Flask) -> None:
    """Make ``g.request_id`` read the id from the request, on first access.

    ``g.get``, ``g.pop``, ``g.setdefault`` and ``in`` see it too. Every other name goes to
    the class that was there before (another extension's, the app's own), so lazy
    attributes of several extensions compose in any order.
    """
    base = app.app_ctx_globals_class
    missing = object()

    class RequestLogGlobals(base):  # type: ignore[valid-type,misc]
        def __getattr__(self, name: str) -> t.Any:
            if name == "request_id" and has_request_context():
                request_id = request.environ.get(REQUEST_ID_KEY)
                if request_id is not None:
                    self.request_id = request_id
                    return request_id
            return super().__getattr__(name)

        def get(self, name: str, default: t.Any | None = None) -> t.Any:
            if name == "request_id" and name not in self.__dict__:
                return getattr(self, name, default)
            return super().get(name, default)

        def pop(self, name: str, default: t.Any = missing) -> t.Any:
            if name == "request_id" and name not in self.__dict__:
                getattr(self, name, None)  # stores it, if this request has one
            if default is missing:
                return super().pop(name)
            return super().pop(name, default)

        def setdefault(self, name: str, default: t.Any = None) -> t.Any:
            if name == "request_id" and name not in self.__dict__:
                getattr(self, name, None)
            return super().setdefault(name, default)

        def __contains__(self, name: str) -> bool:
            if name == "request_id" and name not in self.__dict__:
                return hasattr(self, name)
            return super().__contains__(name)  # type: ignore[no-any-return]

    app.app_ctx_globals_class = RequestLogGlobals
