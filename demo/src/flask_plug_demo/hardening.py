"""What the demo does about bad input that Flask and the WSGI server leave to the app.

Each of these was a 500 before: a request body the server cannot read (a malformed
chunked body), JSON nested deeper than Python's recursion limit, and text that is not
Unicode (a lone surrogate, which JSON's ``\\ud800`` escape can carry).
"""

from __future__ import annotations

import typing as t

from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest, HTTPException

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


def is_text(value: str) -> bool:
    """Whether ``value`` can be sent as UTF-8: ``False`` for lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class _ReadErrorsAreBadRequests:
    """``wsgi.input``, with the server's errors while reading the body turned into a 400."""

    def __init__(self, stream: t.Any) -> None:
        self._stream = stream

    def _call(self, name: str, *args: t.Any) -> t.Any:
        try:
            return getattr(self._stream, name)(*args)
        except HTTPException:
            raise
        # The server raises what it likes here (gunicorn: InvalidChunkSize, NoMoreData;
        # Werkzeug: OSError "Invalid chunk header"); each means the client sent a body
        # that cannot be read, never a fault of the app.
        except Exception as error:
            raise BadRequest(f"the request body could not be read: {error}") from error

    def read(self, *args: t.Any) -> bytes:
        return t.cast(bytes, self._call("read", *args))

    def readline(self, *args: t.Any) -> bytes:
        return t.cast(bytes, self._call("readline", *args))

    def readlines(self, *args: t.Any) -> list[bytes]:
        return t.cast("list[bytes]", self._call("readlines", *args))

    def __iter__(self) -> t.Iterator[bytes]:
        return iter(self.readline, b"")


class ReadableBody:
    """WSGI middleware: a body the server fails to read is the client's 400, not a 500."""

    def __init__(self, wsgi_app: WSGIApplication) -> None:
        self.wsgi_app = wsgi_app

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if stream is not None:
            environ["wsgi.input"] = _ReadErrorsAreBadRequests(stream)
        return self.wsgi_app(environ, start_response)
