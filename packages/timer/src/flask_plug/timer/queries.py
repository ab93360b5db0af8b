"""Database time from SQLAlchemy's engine events, as one ``db`` metric (``TIMER_SQLALCHEMY``).

Imported only when an app turns the option on. The listeners are set once per process on
the :class:`~sqlalchemy.engine.Engine` class, so they hear every engine, including those
made after ``init_app`` (Flask-SQLAlchemy's, one per bind) and those of apps that leave
the option off: for those, and for queries outside a request, a listener returns at once.
"""

from __future__ import annotations

import typing as t
from time import perf_counter_ns

from .spans import find_timing

try:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
except ImportError:
    raise RuntimeError(
        "TIMER_SQLALCHEMY is on but SQLAlchemy is not installed; pip install SQLAlchemy"
    ) from None

if t.TYPE_CHECKING:
    from sqlalchemy.engine import ExceptionContext, ExecutionContext

    from .spans import RequestTiming

# Where a query's start waits for its end: on SQLAlchemy's execution context, which
# belongs to that one execution, so concurrent queries of one request never mix.
_STARTED = "_flask_plug_timer_started"


def _before_cursor_execute(
    conn: object,
    cursor: object,
    statement: object,
    parameters: object,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    timing = find_timing()
    if timing is not None and timing.sql and context is not None:
        setattr(context, _STARTED, (timing, perf_counter_ns()))


def _ended(context: ExecutionContext | None) -> None:
    started: tuple[RequestTiming, int] | None = getattr(context, _STARTED, None)
    if started is not None:
        setattr(context, _STARTED, None)
        timing, start_ns = started
        timing.add_query(perf_counter_ns() - start_ns)


def _after_cursor_execute(
    conn: object,
    cursor: object,
    statement: object,
    parameters: object,
    context: ExecutionContext | None,
    executemany: bool,
) -> None:
    _ended(context)


def _handle_error(exception_context: ExceptionContext) -> None:
    # A failed query took database time too.
    _ended(exception_context.execution_context)


def listen() -> None:
    """Listen to the cursor events of every engine; once per process."""
    if not event.contains(Engine, "before_cursor_execute", _before_cursor_execute):
        event.listen(Engine, "before_cursor_execute", _before_cursor_execute)
        event.listen(Engine, "after_cursor_execute", _after_cursor_execute)
        event.listen(Engine, "handle_error", _handle_error)
