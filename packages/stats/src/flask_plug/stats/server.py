"""The metrics on a port of their own, as a scrape target apart from the app: for
multiprocess servers (every worker's files, read by one more process), or to keep the
metrics off the app's public listener."""

from __future__ import annotations

import socket
import threading
import typing as t
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from werkzeug.wrappers import Request, Response

from ._state import challenge, get_state

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask


class _Server(ThreadingMixIn, WSGIServer):
    """The standard library's WSGI server, a thread per scrape. Not Werkzeug's: it exits
    the process when its port is taken, and this one may run inside a gunicorn master."""

    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _QuietHandler(WSGIRequestHandler):
    """No line per scrape; errors are still logged."""

    def log_message(self, format: str, *args: t.Any) -> None:
        pass


def metrics_app(app: Flask, path: str = "/metrics") -> WSGIApplication:
    """A WSGI app answering ``GET path`` with ``app``'s metrics, as its metrics view does,
    and asking for ``STATS_METRICS_USERNAME``/``PASSWORD`` or ``STATS_METRICS_BEARER_TOKEN``
    if they are set. The ``STATS_*_ACCESS`` functions are not called: they judge requests
    to the app (its session, its ``g``); here the listening address decides who can
    connect."""
    state = get_state(app)
    credentials = state.settings.metrics_credentials

    def answer(environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        request = Request(environ)
        if request.path != path:
            response = Response(f"Not found: the metrics are at {path}\n", 404)
        elif request.method not in ("GET", "HEAD"):
            response = Response("Only GET.\n", 405, {"Allow": "GET, HEAD"})
        elif credentials is not None and not credentials.check(
            request.headers.get("Authorization")
        ):
            response = challenge(credentials.challenges)
        else:
            body, content_type = state.exposition.generate(request.headers.get("Accept"))
            response = Response(body, content_type=content_type)
        return response(environ, start_response)

    return answer


class MetricsServer:
    """A metrics server running in a thread of this process; see
    :func:`start_metrics_server`."""

    def __init__(self, server: WSGIServer, host: str, path: str) -> None:
        self._server = server
        self.host = host
        """The address listened on."""
        self.port: int = server.server_port
        """The port listened on: the one asked for, or the one the system chose for 0."""
        where = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{where}:{self.port}{path}"
        """Where to scrape."""
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="flask-plug-stats metrics server",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening, once the scrapes being answered end."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def make_metrics_server(
    app: Flask, *, host: str = "127.0.0.1", port: int = 9100, path: str = "/metrics"
) -> WSGIServer:
    """The server, not yet serving: ``flask stats serve-metrics`` runs it.

    :raises OSError: if the address is taken.
    """
    return make_server(
        host,
        port,
        metrics_app(app, path),
        server_class=_Server6 if ":" in host else _Server,
        handler_class=_QuietHandler,
    )


def start_metrics_server(
    app: Flask, *, host: str = "127.0.0.1", port: int = 9100, path: str = "/metrics"
) -> MetricsServer:
    """Serve ``app``'s metrics on ``http://host:port/path`` from a daemon thread, as
    ``flask stats serve-metrics`` does from a process of its own.

    :param host: the address to listen on; the default admits this machine only.
    :param port: the port; 0 lets the system choose (read :attr:`MetricsServer.port`).
    :param path: the one path answered; any other gets 404.
    :raises OSError: if the address is taken.

    .. versionadded:: 0.2
    """
    return MetricsServer(make_metrics_server(app, host=host, port=port, path=path), host, path)
