"""What the middleware captures of one request, for the writer thread to format."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class LogEntry(t.NamedTuple):
    """One finished request, as handed from the request thread to the writer thread.

    Formatting happens on the writer thread, so the request only pays for building this.
    """

    environ: WSGIEnvironment
    """The request's WSGI environ; strings in it stand for bytes, as Latin-1 characters."""
    status: str
    """The status line sent, such as ``"404 NOT FOUND"``."""
    headers: list[tuple[str, str]]
    """The response headers sent."""
    bytes_sent: int
    """Body bytes handed to the server."""
    duration_ns: int
    """From the request's arrival at the middleware to the response's close, monotonic."""
    started: float
    """Wall-clock arrival time, seconds since the epoch."""
    request_id: str
    """The request id echoed in the response."""
