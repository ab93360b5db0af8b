"""The per-app state of the API docs: their settings and the cached document."""

from __future__ import annotations

import threading
import typing as t

from flask import current_app

from . import spec

if t.TYPE_CHECKING:
    from flask import Flask

    from .settings import APIDocsSettings

EXTENSION_KEY = "flask-plug-apidocs"


def get_state(app: Flask) -> APIDocsState:
    """The state :meth:`~flask_plug.apidocs.APIDocs.init_app` left on ``app``.

    :raises RuntimeError: if the docs are not registered on ``app``.
    """
    try:
        return t.cast("APIDocsState", app.extensions[EXTENSION_KEY])
    except KeyError:
        raise RuntimeError(
            "flask-plug-apidocs is not initialised on this app: call init_app(app) first"
        ) from None


def current_app_object() -> Flask:
    """The app behind ``current_app``, not the proxy."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


class APIDocsState:
    """One app's settings and its cached document."""

    def __init__(self, settings: APIDocsSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._rule_count = -1
        self._text = ""
        self._exclude_checked = False
        self._statuses: dict[tuple[str, str], int | None] = {}

    def success_status(self, app: Flask, endpoint: str, method: str) -> int | None:
        """The success status declared for a view, read once per endpoint and method."""
        key = (endpoint, method)
        if key not in self._statuses:
            self._statuses[key] = spec.success_status(app, endpoint, method)
        return self._statuses[key]

    def document_text(self, app: Flask) -> str:
        """The JSON text served at ``openapi.json``: built once, rebuilt when rules are
        added."""
        rule_count = sum(1 for _ in app.url_map.iter_rules())
        if rule_count != self._rule_count:
            with self._lock:
                if rule_count != self._rule_count:
                    self.check_exclude(app)
                    self._text = spec.dumps(spec.build(app, self.settings))
                    self._rule_count = rule_count
        return self._text

    def document(self, app: Flask) -> dict[str, t.Any]:
        """The OpenAPI document of ``app``, freshly built."""
        with self._lock:
            self.check_exclude(app)
        return spec.build(app, self.settings)

    def check_exclude(self, app: Flask) -> None:
        """Warn once, on the first build, about ``APIDOCS_EXCLUDE`` names matching nothing.

        Routes are usually added after :meth:`APIDocs.init_app`, so the names cannot be
        checked there; and a typo here shows an endpoint that was meant to stay out, so
        it is reported rather than left silent. A warning, not an error: failing would take
        the docs down for a name that may belong to a blueprint registered only in some
        configurations.
        """
        if self._exclude_checked:
            return
        self._exclude_checked = True
        endpoints = app.view_functions.keys()
        unknown = [
            name
            for name in self.settings.exclude
            if name not in endpoints and not any(e.startswith(name + ".") for e in endpoints)
        ]
        if unknown:
            app.logger.warning(
                "APIDOCS_EXCLUDE names no endpoint or blueprint of this app: %s;"
                " those names leave nothing out of the document",
                ", ".join(repr(name) for name in unknown),
            )
