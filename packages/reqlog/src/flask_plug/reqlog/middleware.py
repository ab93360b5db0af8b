"""The WSGI middleware: one request id and one log entry per request."""

from __future__ import annotations

import random
import typing as t
from time import perf_counter_ns, time

from .entry import LogEntry
from .formats import environ_key
from .request_id import (
    current_request_id,
    id_reader,
    is_safe_request_id,
    new_request_id,
    plain_id,
    read_request_id,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator
    from contextvars import Token

    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .settings import RequestLogSettings
    from .writer import LogWriter

REQUEST_ID_KEY = "flask_plug.request_id"
"""The WSGI environ key holding the request id."""


class RequestLogMiddleware:
    """Wraps ``app.wsgi_app``: gives each request an id and queues one entry for it."""

    def __init__(
        self, wsgi_app: WSGIApplication, settings: RequestLogSettings, writer: LogWriter
    ) -> None:
        self.wsgi_app = wsgi_app
        self.writer = writer
        self.header = settings.request_id_header
        sources = tuple((environ_key(h), id_reader(h)) for h in settings.request_id_from)
        # The usual case, one plain header, is read inline: this runs on every request.
        one = len(sources) == 1 and sources[0][1] is plain_id
        self._one_header = sources[0][0] if one else None
        self._sources = sources if sources and not one else None
        self._skip_paths = settings.skip_paths
        self._skip_prefixes = settings.skip_prefixes
        self._sample = settings.sample
        self.logs_every_request = not (
            settings.skip_paths or settings.skip_prefixes or settings.sample < 1
        )

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id: str | None = None
        if self._one_header is not None:
            incoming = environ.get(self._one_header)
            if incoming is not None and is_safe_request_id(incoming):
                request_id = incoming
        elif self._sources is not None:
            request_id = read_request_id(environ, self._sources)
        if request_id is None:
            request_id = new_request_id()
        environ[REQUEST_ID_KEY] = request_id
        body = LoggedBody(self, environ, start_response, request_id)
        try:
            body.body = self.wsgi_app(environ, body.start_response)
        except BaseException:
            # Flask propagated the error (testing or debug mode): the server answers 500.
            body.finish()
            raise
        return body

    def wanted(self, environ: WSGIEnvironment) -> bool:
        """Whether a successful request is logged, given the skip list and sampling."""
        path = environ.get("PATH_INFO", "")
        if path in self._skip_paths or path.startswith(self._skip_prefixes):
            return False
        return random.random() < self._sample


class LoggedBody:
    """One request in flight: its start, its response, and its body as the server reads it.

    The request is logged when the body is exhausted or closed, whichever comes first,
    and only once: closing is the end of a request in WSGI, and every server closes; test
    clients read a body without always closing it. So a streamed body's bytes all count.
    """

    __slots__ = (
        "body", "_middleware", "_environ", "_start_response", "_request_id", "_started",
        "_start_ns", "_token", "_status", "_headers", "_bytes_sent", "_finished",
    )  # fmt: skip

    def __init__(
        self,
        middleware: RequestLogMiddleware,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        request_id: str,
    ) -> None:
        self._started = time()
        self._start_ns = perf_counter_ns()
        self.body: Iterable[bytes] = ()
        self._middleware = middleware
        self._environ = environ
        self._start_response = start_response
        self._request_id = request_id
        self._token: Token[str | None] = current_request_id.set(request_id)
        self._status = "500 INTERNAL SERVER ERROR"
        self._headers: list[tuple[str, str]] = []
        self._bytes_sent = 0
        self._finished = False

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> t.Callable[[bytes], object]:
        headers.append((self._middleware.header, self._request_id))
        self._status = status
        self._headers = headers
        return self._start_response(status, headers, exc_info)

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.body:
            self._bytes_sent += len(chunk)
            yield chunk
        self.finish()

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.finish()

    def finish(self) -> None:
        """Queue this request's entry, once."""
        if self._finished:
            return
        self._finished = True
        duration_ns = perf_counter_ns() - self._start_ns
        try:
            current_request_id.reset(self._token)
        except ValueError:
            current_request_id.set(None)  # closed in another context than it began in
        middleware = self._middleware
        status = self._status
        if status >= "4" or middleware.logs_every_request or middleware.wanted(self._environ):
            middleware.writer.put(
                LogEntry(
                    self._environ,
                    status,
                    self._headers,
                    self._bytes_sent,
                    duration_ns,
                    self._started,
                    self._request_id,
                )
            )
