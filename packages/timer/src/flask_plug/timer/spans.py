"""Named spans of work inside a request, and the per-request record they add to."""

from __future__ import annotations

import functools
import inspect
import typing as t
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter_ns

from .headers import check_token, format_duration, quote

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
    """The timing record of one request: its start and the spans run so far."""

    __slots__ = ("start_ns", "_totals", "_open")

    def __init__(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self._totals: dict[str, _Total] = {}
        self._open: list[Span] = []

    def opened(self, span: Span) -> None:
        self._open.append(span)

    def closed(self, span: Span, end_ns: int) -> None:
        try:
            self._open.remove(span)
        except ValueError:
            return  # already closed by finish() and counted as unfinished
        self._add(span, end_ns - span._start_ns)

    def _add(self, span: Span, duration_ns: int) -> _Total:
        total = self._totals.get(span.name)
        if total is None:
            total = self._totals[span.name] = _Total(span)
        total.add(span, duration_ns)
        return total

    def finish(self, end_ns: int) -> None:
        """Close the spans still open when the response starts, marking them unfinished."""
        while self._open:
            span = self._open.pop()
            self._add(span, end_ns - span._start_ns).finished = False

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


@functools.lru_cache(maxsize=512)
def _checked_desc_param(name: str, desc: str | None) -> str:
    """Validate a span's name and description once; views reuse the same few pairs."""
    check_token(name, "span name")
    return "" if desc is None else ";desc=" + quote(desc, "span desc")


class Span:
    """Time a block of code as a named ``Server-Timing`` metric of the current request.

    Use it as a context manager or as a decorator; create it with :meth:`Timer.span`.
    Outside a request timed by :class:`Timer` it does nothing, so code that uses spans
    also runs from the CLI or in background jobs.

    :param name: the metric name, an HTTP token such as ``db`` or ``render.page``.
    :param desc: a human-readable description; any text without control characters.
    :raises ValueError: if ``name`` is not a token or ``desc`` cannot be sent in a header.
    """

    __slots__ = ("name", "desc", "_desc_param", "_timing", "_start_ns")

    def __init__(self, name: str, desc: str | None = None) -> None:
        self.name = name
        self.desc = desc
        self._desc_param = _checked_desc_param(name, desc)
        self._timing: RequestTiming | None = None
        self._start_ns = 0

    def _fresh(self) -> Span:
        """A copy ready to enter, sharing the already validated name and description."""
        span = object.__new__(Span)
        span.name = self.name
        span.desc = self.desc
        span._desc_param = self._desc_param
        span._timing = None
        span._start_ns = 0
        return span

    def __enter__(self) -> Span:
        timing = current_timing.get()
        if timing is not None:
            self._timing = timing
            self._start_ns = perf_counter_ns()
            timing.opened(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        timing = self._timing
        if timing is not None:
            self._timing = None
            timing.closed(self, perf_counter_ns())

    def __call__(self, func: F) -> F:
        """Decorate ``func`` so that every call runs inside a fresh span of this name."""
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                with self._fresh():
                    return await func(*args, **kwargs)

            return t.cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
            with self._fresh():
                return func(*args, **kwargs)

        return t.cast(F, wrapper)

    def __repr__(self) -> str:
        return f"<Span {self.name!r}>"
