"""Fixtures of the demo's browser tests: the demo served on a free port of 127.0.0.1 by a
real HTTP server, and a fresh context of the shared Chromium (``testing/``'s ``browser``).

The demo runs with ``TESTING`` off, as ``hatch run demo:serve`` runs it: a view's error is a
500 page (not an exception in the server thread), and the first run prints its passwords as
it does for a person (pytest captures them). Its instance folder is a temporary one.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from flask_plug_demo import close_app, create_app
from flask_plug_testing import LiveServers

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

WAIT_MS = 15_000


class _Later:
    """A WSGI app that forwards to an app set once the server's port is known."""

    app: WSGIApplication | None = None

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        assert self.app is not None
        return self.app(environ, start_response)


@dataclass
class LiveDemo:
    """The demo, served over HTTP: one server, reached under two names, is two origins."""

    app: Flask
    port: int

    @property
    def url(self) -> str:
        """Where the API is, and where the pages are opened: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def front_end(self) -> str:
        """The other origin CORS allows: ``http://localhost:<port>``."""
        return f"http://localhost:{self.port}"

    def password(self, username: str) -> str:
        """The first-run password of ``username``, from the instance folder."""
        text = Path(self.app.instance_path, "first-run-passwords.txt").read_text()
        for line in text.splitlines()[1:]:
            name, password = line.split()
            if name == username:
                return password
        raise LookupError(f"no first-run password for {username!r}")


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[LiveDemo]:
    from flask_plug_demo.app import FRONTEND_ORIGIN
    from flask_plug_demo.views import NOTES

    saved_notes = list(NOTES)  # the demo keeps notes in memory, for every app of the process

    # The port is part of the config (the CORS origin), so the server is bound first.
    # Module-scoped: the live_server fixture's servers, started by hand.
    later = _Later()
    live_server = LiveServers()
    app = None
    try:
        port = urlsplit(live_server(later)).port
        assert port is not None
        front_end = f"http://localhost:{port}"
        assert front_end != FRONTEND_ORIGIN  # port 0 is never 5000
        app = create_app(
            {
                "TESTING": False,
                # app.py's rule, with the front end on this server's port instead of 5000:
                # the whole CORS_RESOURCES mapping is replaced, so every option is repeated.
                "CORS_RESOURCES": {
                    "/api/*": {
                        "origins": [front_end],
                        "expose_headers": ["X-Response-Time"],
                        "allow_headers": ["content-type", "authorization"],
                        "max_age": 600,
                    }
                },
            },
            instance_path=str(tmp_path_factory.mktemp("demo-instance")),
        )
        later.app = app
        yield LiveDemo(app, port)
    finally:
        live_server.close()
        if app is not None:
            close_app(app)
        NOTES[:] = saved_notes


@dataclass
class Visit:
    """A fresh browser context (no cookies or cache from other tests), and what it saw."""

    context: BrowserContext
    page: Page
    requests: list[str]
    errors: list[str]

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        # The demo's pages name no icon, so Chromium asks for /favicon.ico, a 404 it logs
        # now and then: the browser's doing, not the page's.
        if not url.endswith("/favicon.ico"):
            self.errors.append(f"console: {message.text} ({url})")

    def log_in(self, demo: LiveDemo, username: str) -> None:
        """Log in through the login form, as a person does."""
        page = self.page
        page.goto(demo.url + "/auth/login")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(demo.password(username))
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(demo.url + "/notes")


@pytest.fixture
def visit(browser: Browser) -> t.Iterator[Visit]:
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        visit = Visit(context, page, [], [])
        context.on("request", lambda request: visit.requests.append(request.url))
        page.on("console", visit.on_console)
        page.on("pageerror", lambda error: visit.errors.append(f"page error: {error}"))
        yield visit
    finally:
        context.close()
