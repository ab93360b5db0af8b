"""What the demo does about bad input that Flask and the WSGI server leave to the app.

Each of these was a 500 before: a request body the server cannot read (a malformed
chunked body), JSON nested deeper than Python's recursion limit, and text that is not
Unicode (a lone surrogate, which JSON's ``\\ud800`` escape can carry). A body sent slowly
held a gunicorn thread for as long as the client liked.
"""

from __future__ import annotations

import time
import typing as t

from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, HTTPException, RequestTimeout

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with nesting too deep to parse reported as invalid JSON.

    ``request.get_json()`` turns a :class:`ValueError` into a 400 (or ``None`` with
    ``silent=True``), but the parser raises :class:`RecursionError` for ``[[[[…`` a few
    thousand deep, which Flask lets through as a 500.
    """

    def loads(self, s: str | bytes, **kwargs: t.Any) -> t.Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError as error:
            raise ValueError("JSON nested too deeply") from error


class _ReadErrorsAreBadRequests:
    """``wsgi.input``, with the server's errors while reading the body turned into a 400,
    and, where the server shows its socket, the whole body given ``timeout`` seconds."""

    def __init__(self, stream: t.Any, sock: t.Any, timeout: float) -> None:
        self._stream = stream
        self._sock = sock
        self._timeout = timeout
        self._deadline: float | None = None

    def _call(self, name: str, *args: t.Any) -> t.Any:
        previous = None
        if self._sock is not None:
            if self._deadline is None:
                self._deadline = time.monotonic() + self._timeout
            previous = self._sock.gettimeout()
            # A client that declares a body and sends it slowly, or not at all, would
            # otherwise hold a server thread for as long as it keeps the connection.
            self._sock.settimeout(max(self._deadline - time.monotonic(), 0.001))
        try:
            return getattr(self._stream, name)(*args)
        except HTTPException:
            raise
        except TimeoutError as error:
            raise RequestTimeout(
                f"the request body did not arrive in {self._timeout:g} s"
            ) from error
        # The server raises what it likes here (gunicorn: InvalidChunkSize, NoMoreData;
        # Werkzeug: OSError "Invalid chunk header"); each means the client sent a body
        # that cannot be read, never a fault of the app.
        except Exception as error:
            raise BadRequest(f"the request body could not be read: {error}") from error
        finally:
            if self._sock is not None:
                self._sock.settimeout(previous)

    def read(self, *args: t.Any) -> bytes:
        return t.cast(bytes, self._call("read", *args))

    def readline(self, *args: t.Any) -> bytes:
        return t.cast(bytes, self._call("readline", *args))

    def readlines(self, *args: t.Any) -> list[bytes]:
        return t.cast("list[bytes]", self._call("readlines", *args))

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self.readline, b"")


class ReadableBody:
    """WSGI middleware: a body the server fails to read is the client's 400, not a 500;
    under gunicorn, a body that takes longer than ``timeout`` seconds is a 408.

    :param timeout: seconds the whole request body may take to arrive.
    """

    def __init__(self, wsgi_app: WSGIApplication, timeout: float = 10.0) -> None:
        self.wsgi_app = wsgi_app
        self.timeout = timeout

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = _ReadErrorsAreBadRequests(
                stream, environ.get("gunicorn.socket"), self.timeout
            )
        return self.wsgi_app(environ, start_response)
