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

from flask import current_app, has_app_context

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

    def metric(self) -> str:
        metric = f"{self.name};dur={format_duration(self.duration_ns)}{self.desc_param}"
        # An extension parameter: browsers ignore it, people reading the header see it.
        return metric if self.finished else metric + ";unfinished=1"


class RequestTiming:
    """The timing record of one request: its start and the spans run so far.

    The start of each open span is kept here, not on the :class:`Span`: one span object
    (``DB = timer.span("db")`` at module level) is entered by many requests at once.
    """

    __slots__ = ("start_ns", "_totals", "_open")

    def __init__(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self._totals: dict[str, _Total] = {}
        self._open: list[tuple[Span, int]] = []

    def opened(self, span: Span, start_ns: int) -> None:
        self._open.append((span, start_ns))

    def closed(self, span: Span, end_ns: int) -> None:
        # The latest open entry of this span object. Tasks of one request that enter the
        # same object at once may close each other's entry; the durations of a name are
        # summed, so the total and the count are the same either way.
        for index in range(len(self._open) - 1, -1, -1):
            if self._open[index][0] is span:
                start_ns = self._open.pop(index)[1]
                self._add(span, end_ns - start_ns)
                return
        # Not open: already closed by finish() and counted as unfinished.

    def _add(self, span: Span, duration_ns: int) -> _Total:
        total = self._totals.get(span.name)
        if total is None:
            total = self._totals[span.name] = _Total(span)
        total.add(span, duration_ns)
        return total

    def finish(self, end_ns: int) -> None:
        """Close the spans still open when the response starts, marking them unfinished."""
        while self._open:
            span, start_ns = self._open.pop()
            self._add(span, end_ns - start_ns).finished = False

    def metrics(self) -> list[str]:
        """One ``Server-Timing`` metric per span name, in the order the names first ended."""
        return [total.metric() for total in self._totals.values()]

    def span_timings(self) -> tuple[SpanTiming, ...]:
        return tuple(
            SpanTiming(
                name=total.name,
                duration=total.duration_ns / 1e9,
                count=total.count,
                desc=total.desc,
                finished=total.finished,
            )
            for total in self._totals.values()
        )


current_timing: ContextVar[RequestTiming | None] = ContextVar(
    "flask_plug.timer.current_timing", default=None
)
"""The timing record of the request being handled; the middleware sets it around each call.

A context variable, not the request context, so a span costs no proxy lookups and works
in threads and coroutines that copy the context (``asyncio``, ``copy_context().run``).
"""


_logger = logging.getLogger("flask_plug.timer")
_warned_names: set[str] = set()
_warned_lock = threading.Lock()
_MAX_WARNED_NAMES = 256  # names are usually constants; this only bounds a runaway


@functools.lru_cache(maxsize=512)
def _checked_desc_param(name: str, desc: str | None) -> tuple[str, bool]:
    """Validate a span's name and quote its description once; views reuse the same few
    pairs. The flag says whether characters of the description had to be escaped."""
    check_token(name, "span name")
    if desc is None:
        return "", False
    quoted, escaped = quote_lossy(desc)
    return ";desc=" + quoted, escaped


def _warn_escaped(name: str) -> None:
    with _warned_lock:
        if name in _warned_names or len(_warned_names) >= _MAX_WARNED_NAMES:
            return
        _warned_names.add(name)
    logger = current_app.logger if has_app_context() else _logger
    logger.warning(
        "timer span %r: its desc holds characters a header cannot carry (controls, or beyond"
        " Latin-1); they are sent as \\uXXXX codes. Logged once per span name.",
        name,
    )


class Span:
    """Time a block of code as a named ``Server-Timing`` metric of the current request.

    Use it as a context manager or as a decorator; create it with :meth:`Timer.span`.
    Outside a request timed by :class:`Timer` it does nothing, so code that uses spans
    also runs from the CLI or in background jobs.

    A span object keeps no state of its own between ``with`` blocks: one object may be
    shared by every request and thread (``DB = timer.span("db")`` at module level), and
    entered again while it is open.

    :param name: the metric name, an HTTP token such as ``db`` or ``render.page``.
    :param desc: a human-readable description. Characters a header cannot carry
        (controls, anything beyond U+00FF) are sent as ``\\uXXXX`` codes, and logged
        once per span name: a description never fails a request.
    :raises ValueError: if ``name`` is not a token.

    .. versionchanged:: 0.2
        Safe to share between concurrent requests; descriptions no longer raise.
    """

    __slots__ = ("name", "desc", "_desc_param")

    def __init__(self, name: str, desc: str | None = None) -> None:
        self.name = name
        self.desc = desc
        self._desc_param, escaped = _checked_desc_param(name, desc)
        if escaped:
            _warn_escaped(name)

    def __enter__(self) -> Span:
        timing = current_timing.get()
        if timing is not None:
            timing.opened(self, perf_counter_ns())
        return self

    def __exit__(self, *exc_info: object) -> None:
        timing = current_timing.get()
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
