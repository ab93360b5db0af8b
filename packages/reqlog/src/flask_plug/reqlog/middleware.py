"""The WSGI middleware: one request id and one log entry per request."""

from __future__ import annotations

import random
import typing as t
from time import perf_counter_ns, time

from .entry import LogEntry
from .request_id import accept_request_id, current_request_id, new_request_id

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from .settings import RequestLogSettings
    from .writer import LogWriter

REQUEST_ID_KEY = "flask_plug.request_id"
"""The WSGI environ key holding the request id."""


class RequestLogMiddleware:
    """Wraps ``app.wsgi_app``; the entry is queued when the server closes the response.

    Closing is the end of the request in WSGI: the body has been iterated (so a streamed
    body's bytes are all counted) or abandoned, and every server calls ``close()``.
    """

    def __init__(
        self, wsgi_app: WSGIApplication, settings: RequestLogSettings, writer: LogWriter
    ) -> None:
        self.wsgi_app = wsgi_app
        self._writer = writer
        self._header = settings.request_id_header
        self._environ_header = "HTTP_" + settings.request_id_header.upper().replace("-", "_")
        self._trust = settings.trust_request_id
        self._skip_paths = settings.skip_paths
        self._skip_prefixes = settings.skip_prefixes
        self._sample = settings.sample

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time()
        start_ns = perf_counter_ns()
        if self._trust:
            request_id = accept_request_id(environ.get(self._environ_header))
        else:
            request_id = new_request_id()
        environ[REQUEST_ID_KEY] = request_id
        token = current_request_id.set(request_id)
        sent: list[t.Any] = ["500 INTERNAL SERVER ERROR", []]

        def logging_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            headers.append((self._header, request_id))
            sent[0] = status
            sent[1] = headers
            return start_response(status, headers, exc_info)

        def finish(bytes_sent: int) -> None:
            duration_ns = perf_counter_ns() - start_ns
            try:
                current_request_id.reset(token)
            except ValueError:
                current_request_id.set(None)  # closed in another context than it began
            status: str = sent[0]
            if status[0] in "45" or self._wanted(environ):
                self._writer.put(
                    LogEntry(environ, status, sent[1], bytes_sent, duration_ns, started, request_id)
                )

        try:
            body = self.wsgi_app(environ, logging_start_response)
        except BaseException:
            # Flask propagated the error (testing or debug mode): the server answers 500.
            finish(0)
            raise
        return LoggedBody(body, finish)

    def _wanted(self, environ: WSGIEnvironment) -> bool:
        if self._skip_paths or self._skip_prefixes:
            path = environ.get("PATH_INFO", "")
            if path in self._skip_paths or path.startswith(self._skip_prefixes):
                return False
        return self._sample == 1.0 or random.random() < self._sample


class LoggedBody:
    """The response body, counted as the server sends it. The request is logged when the
    body is exhausted or closed, whichever comes first, and only once."""

    __slots__ = ("_body", "_finish", "_bytes_sent", "_finished")

    def __init__(self, body: Iterable[bytes], finish: t.Callable[[int], None]) -> None:
        self._body = body
        self._finish = finish
        self._bytes_sent = 0
        self._finished = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._bytes_sent += len(chunk)
            yield chunk
        # Test clients read a body without always closing it; every server closes it.
        self._done()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()

    def _done(self) -> None:
        if not self._finished:
            self._finished = True
            self._finish(self._bytes_sent)
