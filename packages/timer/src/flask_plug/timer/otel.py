"""Timer spans mirrored as OpenTelemetry spans (``TIMER_OTEL``).

Imported only when an app turns the option on, so an app without it never imports
OpenTelemetry and pays nothing for it.
"""

from __future__ import annotations

import contextvars
import typing as t
from time import time_ns

from .spans import RequestTiming

try:
    from opentelemetry import context, trace
except ImportError:
    raise RuntimeError(
        "TIMER_OTEL is on but opentelemetry-api is not installed;"
        " pip install 'flask-plug-timer[otel]'"
    ) from None

if t.TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from .spans import Span

DESC_ATTRIBUTE = "flask_plug.timer.desc"
"""The span attribute holding a timer span's description."""
UNFINISHED_ATTRIBUTE = "flask_plug.timer.unfinished"
"""Set to ``True`` on a span still open when the response started, ended there."""


def tracer() -> Tracer:
    """The tracer of the timer's spans, from the global tracer provider (which may be set
    after this: the API's proxy tracer follows it)."""
    return trace.get_tracer("flask_plug.timer")


class OTelRequestTiming(RequestTiming):
    """A request's timing record whose spans are also OpenTelemetry spans.

    Each OTel span starts and ends at the very instants the ``Server-Timing`` duration is
    measured between, so both report the same duration. A ``with`` span becomes the current
    span of its context while it runs, so spans opened inside it (the timer's own, or other
    instrumentation's) are its children; its parent is whatever span is current when it
    starts, such as the request span of ``opentelemetry-instrumentation-flask``.

    A span that starts after the response started (in a streamed body, or a thread that
    outlives the response) with no current span of its own is a child of the span that was
    current when the response started: Flask ends the request context, and with it that
    instrumentation's request span, before the body streams.
    """

    __slots__ = ("_tracer", "_epoch_offset_ns", "_response_context")

    def __init__(self, start_ns: int, tracer: Tracer, sql: bool = False) -> None:
        super().__init__(start_ns, sql)
        self._tracer = tracer
        # perf_counter_ns() readings plus this are nanoseconds since the epoch, as OTel wants.
        self._epoch_offset_ns = time_ns() - start_ns
        self._response_context: context.Context | None = None

    def finish(self, end_ns: int) -> None:
        self._response_context = context.get_current()
        super().finish(end_ns)

    def _begin(self, span: Span, start_ns: int, current: bool) -> t.Any:
        parent = None
        if self._response_context is not None:
            if not trace.get_current_span().get_span_context().is_valid:
                parent = self._response_context
        attributes = {DESC_ATTRIBUTE: span.desc} if span.desc is not None else None
        otel_span = self._tracer.start_span(
            span.name,
            context=parent,
            start_time=start_ns + self._epoch_offset_ns,
            attributes=attributes,
        )
        token = context.attach(trace.set_span_in_context(otel_span)) if current else None
        return otel_span, token

    def _latest(self, span: Span | None, name: str) -> int:
        # A ``with`` block ends the entry it made current in this context, even when other
        # tasks of the request have entered the same span object since.
        if span is not None:
            current = trace.get_current_span()
            for index in range(len(self._open) - 1, -1, -1):
                entry = self._open[index]
                if entry[0] is span and entry[2][0] is current:
                    return index
        return super()._latest(span, name)

    def _end(self, kept: t.Any, end_ns: int, unfinished: bool) -> None:
        otel_span, token = kept
        if token is not None:
            if unfinished:
                _restore_quietly(token)
            else:
                context.detach(token)
        if unfinished:
            otel_span.set_attribute(UNFINISHED_ATTRIBUTE, True)
        otel_span.end(end_time=end_ns + self._epoch_offset_ns)


def _restore_quietly(token: object) -> None:
    """Make current again what was current before a ``with`` span left open was.

    :meth:`~RequestTiming.finish` ends such a span maybe in another context than the one
    it was made current in (an async view runs in a copy). OTel's ``detach`` logs an error
    there; that copy is about to be dropped anyway, so this restores where it can and
    quietly leaves it where it cannot. In the context of a sync view, which a worker
    thread keeps for its next request, it does restore.
    """
    if isinstance(token, contextvars.Token):
        try:
            token.var.reset(token)
        except (ValueError, RuntimeError):
            pass
