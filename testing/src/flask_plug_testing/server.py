"""Real HTTP servers for tests: Werkzeug's threaded server on a free port of 127.0.0.1."""

from __future__ import annotations

import threading
import typing as t

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

# How long stop() waits for the requests being answered; a test's request never takes long.
_STOP_TIMEOUT = 10.0


class _Requests:
    """How many requests a server is answering, so a test can wait until none is."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def __enter__(self) -> None:
        with self._changed:
            self._count += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._changed:
            self._count -= 1
            self._changed.notify_all()

    def wait_until_none(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


def _request_handler(requests: _Requests) -> type[WSGIRequestHandler]:
    class Handler(WSGIRequestHandler):
        """Counts the requests it answers, and logs nothing: Werkzeug's request lines
        would set up the ``werkzeug`` logger for the rest of the session."""

        def run_wsgi(self) -> None:
            with requests:  # until the response is closed, after its last byte is sent
                super().run_wsgi()

        def log(self, type: str, message: str, *args: t.Any) -> None:
            pass

    return Handler


class LiveServers:
    """``serve(app)`` serves a WSGI app on a free port of 127.0.0.1, in a thread, and
    returns its base URL, ``http://127.0.0.1:<port>``; the ``live_server`` fixture is one.

    A browser reaches the same server under any name ending in ``.test`` (the ``browser``
    fixture maps them to 127.0.0.1): replace the host of the URL.
    """

    def __init__(self) -> None:
        self._running: list[tuple[BaseWSGIServer, _Requests, threading.Thread]] = []

    def __call__(self, app: WSGIApplication) -> str:
        requests = _Requests()
        server = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_request_handler(requests)
        )
        # A short poll: shutdown() waits for the serving loop to look up.
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        self._running.append((server, requests, thread))
        return f"http://127.0.0.1:{server.server_port}"

    def stop(self) -> None:
        """Stop every server started so far, once each request they are answering has
        ended (its response closed, so whatever it does then is done). Connections kept
        alive but idle do not count.

        :raises AssertionError: a request still runs after 10 seconds.
        """
        running, self._running = self._running, []
        for server, requests, thread in running:
            server.shutdown()
            finished = requests.wait_until_none(_STOP_TIMEOUT)
            server.server_close()
            thread.join(_STOP_TIMEOUT)
            assert finished, f"a request to port {server.server_port} still runs"

    def close(self) -> None:
        """Stop every server at once, without waiting for requests."""
        running, self._running = self._running, []
        for server, _, thread in running:
            server.shutdown()
            server.server_close()
            thread.join(_STOP_TIMEOUT)

    def __enter__(self) -> LiveServers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
