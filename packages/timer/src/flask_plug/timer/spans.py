"""Named spans of work inside a request, and the per-request record they add to."""

from __future__ import annotations

import functools
import inspect
import logging
import threading
import typing as t
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter_ns

from flask import current_app, has_app_context, has_request_context, request

from .headers import check_token, format_duration, quote_lossy

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


@dataclass(frozen=True)
class SpanTiming:
    """What one span name added up to during a request, as sent with :data:`request_timed`.

    Spans that share a name are summed into one entry, so a loop of queries in a ``db``
    span reports the total time spent in the database.
    """

    name: str
    """The span name, an HTTP token."""
    duration: float
    """Total seconds spent in spans of this name."""
    count: int
    """How many spans of this name ran."""
    desc: str | None
    """The description of the first span of this name that had one."""
    finished: bool
    """``False`` if a span of this name was still open when the response started."""


class _Total:
    __slots__ = ("name", "desc", "desc_param", "duration_ns", "count", "finished")

    def __init__(self, span: Span) -> None:
        self.name = span.name
        self.desc = span.desc
        self.desc_param = span._desc_param
        self.duration_ns = 0
        self.count = 0
        self.finished = True

    def add(self, span: Span, duration_ns: int) -> None:
        if self.desc is None and span.desc is not None:
            self.desc = span.desc
            self.desc_param = span._desc_param
        self.duration_ns += duration_ns
        self.count += 1

    def described(self) -> tuple[str | None, str]:
        """The description and its ``;desc=`` parameter."""
        return self.desc, self.desc_param

    def metric(self) -> str:
        desc_param = self.described()[1]
        metric = f"{self.name};dur={format_duration(self.duration_ns)}{desc_param}"
        # An extension parameter: browsers ignore it, people reading the header see it.
        return metric if self.finished else metric + ";unfinished=1"

    def timing(self) -> SpanTiming:
        return SpanTiming(
            name=self.name,
            duration=self.duration_ns / 1e9,
            count=self.count,
            desc=self.described()[0],
            finished=self.finished,
        )


class _Queries(_Total):
    """The database time of a request: every query's time summed, described by the count."""

    __slots__ = ()

    def described(self) -> tuple[str | None, str]:
        desc = f"{self.count} {'query' if self.count == 1 else 'queries'}"
        return desc, f';desc="{desc}"'


QUERIES_METRIC = "db"
"""The name of the metric of database time (``TIMER_SQLALCHEMY``)."""

# The key of the database total among the span totals: no span name can equal it, so a
# span the app names "db" is its own metric and never summed with the queries.
_QUERIES_KEY = object()

# An open span: the span, its start, and what a subclass keeps for it (an OTel span).
_Entry = tuple["Span", int, t.Any]


class RequestTiming:
    """The timing record of one request: its start and the spans run so far.

    The start of each open span is kept here, not on the :class:`Span`: one span object
    (``DB = timer.span("db")`` at module level) is entered by many requests at once.
    Threads of the request add to it too (see :func:`find_timing`), so every change is
    made under a lock, which the first span makes: a request without spans pays for no
    lock. Once the response has started (:meth:`finish`) the record is
    closed: a span that ends later cannot reach the header, and is counted and logged at
    debug level instead.

    :param start_ns: when the request started, from :func:`time.perf_counter_ns`.
    :param sql: add database time (``TIMER_SQLALCHEMY`` is on for this request's app).
    """

    __slots__ = ("start_ns", "sql", "_totals", "_open", "_lock", "_done", "_dropped")

    def __init__(self, start_ns: int, sql: bool = False) -> None:
        self.start_ns = start_ns
        self.sql = sql
        self._totals: dict[object, _Total] = {}
        self._open: list[_Entry] = []
        self._lock: threading.Lock | None = None
        self._done = False
        self._dropped = 0

    # Hooks for a subclass that mirrors spans elsewhere (OpenTelemetry).
    def _begin(self, span: Span, start_ns: int, current: bool) -> t.Any:
        return None

    def _end(self, kept: t.Any, end_ns: int, unfinished: bool) -> None:
        pass

    def _latest(self, span: Span | None, name: str) -> int:
        """The index of the latest open entry of ``span`` (of ``name`` if ``span`` is
        ``None``), or -1. Tasks of one request that enter the same span object at once may
        close each other's entry; a name's durations are summed, so its total and count
        are the same either way."""
        open_ = self._open
        for index in range(len(open_) - 1, -1, -1):
            entry_span = open_[index][0]
            if entry_span is span if span is not None else entry_span.name == name:
                return index
        return -1

    def _locked(self) -> threading.Lock:
        """The record's lock, made on first use."""
        lock = self._lock
        if lock is None:
            with _LOCK_MAKING:
                lock = self._lock
                if lock is None:
                    lock = self._lock = threading.Lock()
        return lock

    def opened(self, span: Span, start_ns: int, current: bool = True) -> None:
        """Record that ``span`` started at ``start_ns``.

        :param current: the span is a ``with`` block, so a mirror may make it the current
            span of this context; :meth:`Timer.start` spans are not.
        """
        kept = self._begin(span, start_ns, current)
        # acquire/release, not `with`: a third of the cost, on every span.
        lock = self._locked()
        lock.acquire()
        try:
            self._open.append((span, start_ns, kept))
        finally:
            lock.release()

    def closed(self, span: Span, end_ns: int) -> None:
        """Record that ``span`` ended at ``end_ns``."""
        self._close(span, span.name, end_ns)

    def stop(self, name: str, end_ns: int) -> None:
        """End the latest open span named ``name``, however it was started."""
        if not self._close(None, name, end_ns):
            _warn_once(
                "stop",
                name,
                "timer.stop(%r) without a matching timer.start(): ignored. Logged once per name.",
            )

    def _close(self, span: Span | None, name: str, end_ns: int) -> bool:
        """End an open span; ``False`` if none was open and the response has not started."""
        lock = self._locked()
        lock.acquire()
        try:
            index = self._latest(span, name)
            entry = self._open.pop(index) if index >= 0 else None
            done = self._done
            if entry is not None and not done:
                self._add(entry[0], end_ns - entry[1])
            elif done:
                self._dropped += 1
                dropped = self._dropped
        finally:
            lock.release()
        if entry is not None:
            self._end(entry[2], end_ns, False)
        if done:
            _log_dropped(f"span {name!r}", dropped)
        # After the response started an entry may be missing because finish() closed it.
        return entry is not None or done

    def add_query(self, duration_ns: int) -> None:
        """Add one database query of ``duration_ns`` to the ``db`` metric."""
        with self._locked():
            if not self._done:
                total = self._totals.get(_QUERIES_KEY)
                if total is None:
                    total = self._totals[_QUERIES_KEY] = _Queries(_QUERIES_SPAN)
                total.add(_QUERIES_SPAN, duration_ns)
                return
            self._dropped += 1
            dropped = self._dropped
        _log_dropped("a database query", dropped)

    def _add(self, span: Span, duration_ns: int) -> _Total:
        total = self._totals.get(span.name)
        if total is None:
            total = self._totals[span.name] = _Total(span)
        total.add(span, duration_ns)
        return total

    def finish(self, end_ns: int) -> None:
        """Close the record when the response starts: the spans still open are ended here
        and marked unfinished, and nothing is added after this."""
        self._done = True
        lock = self._lock
        if lock is None:
            # No span has started yet. One that starts from now on makes the lock after
            # this point, so it finds the record done and never adds to it.
            return
        lock.acquire()
        try:
            still_open = self._open
            if still_open:
                self._open = []
                for span, start_ns, _ in reversed(still_open):
                    self._add(span, end_ns - start_ns).finished = False
        finally:
            lock.release()
        if still_open:
            for _, _, kept in reversed(still_open):
                self._end(kept, end_ns, True)

    def metrics(self) -> list[str]:
        """One ``Server-Timing`` metric per span name, in the order the names first ended."""
        return [total.metric() for total in self._totals.values()]

    def span_timings(self) -> tuple[SpanTiming, ...]:
        return tuple(total.timing() for total in self._totals.values())


_LOCK_MAKING = threading.Lock()
"""Held while a record makes its lock, so two threads never make two."""

current_timing: ContextVar[RequestTiming | None] = ContextVar(
    "flask_plug.timer.current_timing", default=None
)
"""The timing record of the request being handled; the middleware sets it around each call.

A context variable, not the request context, so a span costs no proxy lookups and works
in threads and coroutines that copy the context (``asyncio``, ``copy_context().run``).
"""

ENVIRON_KEY = "flask_plug.timer.timing"
"""Where the middleware also leaves the record: in the WSGI environ, which Flask's
copied request contexts share (``copy_current_request_context``, ``stream_with_context``)."""


def find_timing() -> RequestTiming | None:
    """The timing record of the current request, or ``None`` outside a timed request.

    From the context variable first; else from the request context, which a thread run
    with :func:`flask.copy_current_request_context` or a body generator wrapped in
    :func:`flask.stream_with_context` has without the context variable.
    """
    timing = current_timing.get()
    if timing is None and has_request_context():
        found: RequestTiming | None = request.environ.get(ENVIRON_KEY)
        return found
    return timing


_logger = logging.getLogger("flask_plug.timer")
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()
_MAX_WARNED = 256  # names are usually constants; this only bounds a runaway


def _app_logger() -> logging.Logger:
    return current_app.logger if has_app_context() else _logger


def _warn_once(kind: str, name: str, message: str) -> None:
    """Log ``message % name`` as a warning, the first time only for ``(kind, name)``."""
    with _warned_lock:
        if (kind, name) in _warned or len(_warned) >= _MAX_WARNED:
            return
        _warned.add((kind, name))
    _app_logger().warning(message, name)


def _log_dropped(what: str, dropped: int) -> None:
    _app_logger().debug(
        "timer: %s ended after the response started, so it is not in Server-Timing"
        " (%d dropped in this request)",
        what,
        dropped,
    )


@functools.lru_cache(maxsize=512)
def _checked_desc_param(name: str, desc: str | None) -> tuple[str, bool]:
    """Validate a span's name and quote its description once; views reuse the same few
    pairs. The flag says whether characters of the description had to be escaped."""
    check_token(name, "span name")
    if desc is None:
        return "", False
    quoted, escaped = quote_lossy(desc)
    return ";desc=" + quoted, escaped


class Span:
    """Time a block of code as a named ``Server-Timing`` metric of the current request.

    Use it as a context manager or as a decorator; create it with :meth:`Timer.span`.
    Outside a request timed by :class:`Timer` it does nothing, so code that uses spans
    also runs from the CLI or in background jobs. In a thread it times the request whose
    context the thread runs in (``contextvars.copy_context().run``, Flask's
    ``copy_current_request_context``).

    A span object keeps no state of its own between ``with`` blocks: one object may be
    shared by every request and thread (``DB = timer.span("db")`` at module level), and
    entered again while it is open.

    :param name: the metric name, an HTTP token such as ``db`` or ``render.page``.
    :param desc: a human-readable description. Characters a header cannot carry
        (controls, anything beyond U+00FF) are sent as ``\\uXXXX`` codes, and logged
        once per span name: a description never fails a request.
    :raises ValueError: if ``name`` is not a token.

    .. versionchanged:: 0.2
        Safe to share between concurrent requests; descriptions no longer raise; spans of
        threads that run in a copy of the request's context are recorded.
    """

    __slots__ = ("name", "desc", "_desc_param")

    def __init__(self, name: str, desc: str | None = None) -> None:
        self.name = name
        self.desc = desc
        self._desc_param, escaped = _checked_desc_param(name, desc)
        if escaped:
            _warn_once(
                "desc",
                name,
                "timer span %r: its desc holds characters a header cannot carry (controls, or"
                " beyond Latin-1); they are sent as \\uXXXX codes. Logged once per span name.",
            )

    def __enter__(self) -> Span:
        timing = find_timing()
        if timing is not None:
            timing.opened(self, perf_counter_ns())
        return self

    def __exit__(self, *exc_info: object) -> None:
        timing = find_timing()
        if timing is not None:
            timing.closed(self, perf_counter_ns())

    def __call__(self, func: F) -> F:
        """Decorate ``func`` so that every call runs inside this span."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                with self:
                    return await func(*args, **kwargs)

            return t.cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            with self:
                return func(*args, **kwargs)

        return t.cast(F, wrapper)

    def __repr__(self) -> str:
        return f"<Span {self.name!r}>"


_QUERIES_SPAN = Span(QUERIES_METRIC)
