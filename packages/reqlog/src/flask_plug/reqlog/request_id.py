"""Request ids: accepting or making one, and putting it on the app's own log records."""

from __future__ import annotations

import logging
import os
import random
import re
import typing as t
from contextvars import ContextVar

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

MAX_REQUEST_ID_LENGTH = 128
"""The longest incoming request id that is kept; a longer one is replaced."""

# Letters, digits and the punctuation of UUIDs, base64 and trace ids: nothing a log
# line, a header or a shell would need to escape.
_SAFE_ID = re.compile(rf"[A-Za-z0-9+/=._:-]{{1,{MAX_REQUEST_ID_LENGTH}}}")

current_request_id: ContextVar[str | None] = ContextVar(
    "flask_plug_reqlog_request_id", default=None
)
"""The id of the request being handled in this context, or ``None`` outside one."""


def is_safe_request_id(value: str) -> bool:
    """Whether an incoming request id is short and of safe characters, so it can be kept."""
    return _SAFE_ID.fullmatch(value) is not None


IdReader = t.Callable[[str], str | None]
"""Reads the id out of one header's value; ``None`` if the value is not a valid one."""
Sources = tuple[tuple[str, IdReader], ...]
"""The environ keys of the headers an incoming id is read from, in order, with their readers."""


def plain_id(value: str) -> str | None:
    """The whole value, if it is a safe id (``X-Request-ID``, ``X-Correlation-ID`` ...)."""
    return value if _SAFE_ID.fullmatch(value) is not None else None


# W3C Trace Context: version-traceid-parentid-flags, lower-case hex. A later version may
# add fields after a dash; version 00 may not.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_ZEROS = frozenset("0")


def traceparent_id(value: str) -> str | None:
    """The trace id of a W3C ``traceparent`` header: 32 hex digits, or ``None`` when the
    header is malformed, of the invalid version ``ff``, or has an all-zero id."""
    match = _TRACEPARENT.fullmatch(value.strip(" \t"))
    if match is None:
        return None
    version, trace_id, parent_id, _, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if set(trace_id) == _ZEROS or set(parent_id) == _ZEROS:
        return None
    return trace_id


# AWS X-Ray: Root=1-<8 hex digits of epoch seconds>-<24 hex digits>.
_AMZN_ROOT = re.compile(r"1-[0-9a-f]{8}-[0-9a-f]{24}")


def amzn_trace_id(value: str) -> str | None:
    """The ``Root`` trace id of an AWS ``X-Amzn-Trace-Id`` header (load balancers, API
    Gateway, X-Ray), as in ``Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1``; the
    trace that spans every hop, so the same id is logged by each service a request
    crosses. ``None`` when there is no valid ``Root``."""
    for field in value.split(";"):
        name, _, root = field.partition("=")
        if name.strip() == "Root":
            root = root.strip()
            return root if _AMZN_ROOT.fullmatch(root) else None
    return None


_READERS: dict[str, IdReader] = {"traceparent": traceparent_id, "x-amzn-trace-id": amzn_trace_id}


def id_reader(header: str) -> IdReader:
    """How the id is read out of ``header``: the trace id of ``traceparent``, the root of
    ``X-Amzn-Trace-Id``, and the whole value, if safe, of any other header."""
    return _READERS.get(header.lower(), plain_id)


def read_request_id(environ: WSGIEnvironment, sources: Sources) -> str | None:
    """The id of the first header in ``sources`` that holds a valid one, or ``None``."""
    for key, read in sources:
        value = environ.get(key)
        if value is not None:
            request_id = read(value)
            if request_id is not None:
                return request_id
    return None


# Request ids need to be unique, not secret. os.urandom() releases the GIL for its system
# call, and handing the GIL to the writer thread and back on every request cost more than
# all the rest of the request log did; a generator of our own, seeded from the OS and
# reseeded in each forked worker, does not touch the GIL.
_generator = random.Random(os.urandom(32))
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=lambda: _generator.seed(os.urandom(32)))


def new_request_id() -> str:
    """A new random request id: 32 hex digits."""
    return f"{_generator.getrandbits(128):032x}"


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` on every record it sees: the id of the request being
    handled, or ``"-"`` outside a request. It never drops a record.

    Add it to a handler so that every record the handler writes, from any logger, can use
    ``%(request_id)s`` in its format::

        handler.addFilter(RequestIdFilter())

    :class:`~flask_plug.reqlog.RequestLog` adds one to ``app.logger`` itself.
    """

    def filter(self, record: logging.LogRecord) -> t.Literal[True]:
        record.request_id = current_request_id.get() or "-"
        return True
