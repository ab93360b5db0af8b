"""Werkzeug's development server's own request lines, redacted like the access log."""

from __future__ import annotations

import logging
import re
import typing as t

from .escaping import Redactor

# A URL or a request target with a query or a fragment, up to a space or a quote (the
# request line is logged between quotes, and error messages quote it with repr()).
_URL = re.compile(r"[^\s\"']*[?#][^\s\"']*")


class DevServerRedactFilter(logging.Filter):
    """Redacts secret query parameters in the records of the ``werkzeug`` logger: the
    development server's ``"GET /?token=... HTTP/1.1" 200 -`` lines and its error
    messages, which quote the request line. Never drops a record.

    One filter serves every app: it redacts what any of their ``REQLOG_REDACT`` lists name.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> t.Literal[True]:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(self._redact(a) if isinstance(a, str) else a for a in args)
        elif not args and isinstance(record.msg, str):
            record.msg = self._redact(record.msg)
        return True

    def _redact(self, text: str) -> str:
        if "?" not in text and "#" not in text:
            return text
        return _URL.sub(lambda match: self.redactor.url(match[0]), text)


def redact_dev_server_log(redactor: Redactor) -> None:
    """Put the filter on the ``werkzeug`` logger, or widen the one there to ``redactor``'s
    names too. Costs nothing outside the development server, which alone logs there."""
    logger = logging.getLogger("werkzeug")
    for existing in logger.filters:
        if isinstance(existing, DevServerRedactFilter):
            names = existing.redactor.names
            if not set(redactor.names) <= set(names):
                existing.redactor = Redactor(tuple(sorted({*names, *redactor.names})))
            return
    logger.addFilter(DevServerRedactFilter(redactor))
