"""Request ids: accepting or making one, and putting it on the app's own log records."""

from __future__ import annotations

import logging
import os
import random
import re
import typing as t
from contextvars import ContextVar

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
