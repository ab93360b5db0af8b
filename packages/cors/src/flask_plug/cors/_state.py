"""The per-app state of :class:`CORS`, kept in ``app.extensions["flask-plug-cors"]``."""

from __future__ import annotations

import typing as t

from flask import current_app, request

from .asked import AskedOrigins
from .decorators import stored_rules
from .policy import CorsPolicy, Namer, compile_policy
from .settings import DEFAULTS, config_key

if t.TYPE_CHECKING:
    from flask import Flask, Request

    from .asked import OriginCheck
    from .settings import CorsSettings

EXTENSION_KEY = "flask-plug-cors"


def current_request_object() -> Request:
    """The request behind the ``request`` proxy.

    :raises RuntimeError: outside a request.
    """
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    return req


def get_state(app: Flask) -> CorsState:
    """The CORS state of ``app``.

    :raises RuntimeError: if :meth:`CORS.init_app` was not called on ``app``.
    """
    state: CorsState | None = app.extensions.get(EXTENSION_KEY)
    if state is None:
        raise RuntimeError(
            "flask-plug-cors is not initialised on this app: call init_app(app) first"
        )
    return state


class CorsState:
    """Per-app rules; compiled policies are cached per (endpoint, path rule)."""

    def __init__(self, settings: CorsSettings) -> None:
        self.settings = settings
        self.base = {option: getattr(settings, option) for option in DEFAULTS}
        self.rules = settings.resources
        self._cache: dict[tuple[str | None, int], CorsPolicy] = {}
        self._asked: dict[object, AskedOrigins] = {}

    def asked(self, function: OriginCheck, app: Flask) -> AskedOrigins:
        """The one cache of ``function``'s answers in this app, whichever scopes use it."""
        key: object = function
        try:
            hash(function)
        except TypeError:
            key = id(function)  # kept alive by the cache that holds it
        found = self._asked.get(key)
        if found is None:
            settings = self.settings
            found = AskedOrigins(
                function,
                size=settings.origins_cache_size,
                ttl=settings.origins_cache_ttl,
                logger=app.logger,
            )
            found = self._asked.setdefault(key, found)
        return found

    def check(self, app: Flask) -> None:
        """Compile every scope known now, so bad combinations fail at ``init_app``.

        Views registered later are compiled on their first request; if their rules do
        not work together, CORS is off for them and the reason is logged as an error.
        """
        for index in range(-1, len(self.rules)):
            self._build(app, None, index)
        for endpoint in app.view_functions:
            for index in range(-1, len(self.rules)):
                self._build(app, endpoint, index)

    def policy_for(self, endpoint: str | None, path: str) -> CorsPolicy:
        index = -1
        for i, rule in enumerate(self.rules):
            if rule.matches(path):
                index = i
                break
        policy = self._cache.get((endpoint, index))
        if policy is None:
            try:
                policy = self._build(current_app, endpoint, index)
            except ValueError as e:
                # A view registered after init_app with rules that cannot work together:
                # fail closed, once, loudly.
                current_app.logger.error("CORS is off for %r: %s", endpoint, e)
                policy = compile_policy(DEFAULTS, config_key, "invalid rules")
            self._cache[endpoint, index] = policy
        return policy

    def _build(self, app: Flask, endpoint: str | None, index: int) -> CorsPolicy:
        options = dict(self.base)
        name: Namer = config_key
        source = "app config"
        scopes: list[tuple[str, dict[str, t.Any] | None]] = []
        if index >= 0:
            rule = self.rules[index]
            scopes.append((rule.label, rule.options))
        if endpoint is not None:
            for bp_name in reversed(_blueprint_names(endpoint)):
                scopes.append((f"blueprint {bp_name!r}", stored_rules(app.blueprints.get(bp_name))))
            scopes.append((f"view {endpoint!r}", stored_rules(app.view_functions.get(endpoint))))
        for label, scope_options in scopes:
            if scope_options:
                options.update(scope_options)
                source = label
        if source != "app config":
            name = lambda option: f"{option!r} (as merged for {source})"  # noqa: E731
        return compile_policy(options, name, source, lambda f: self.asked(f, app))


def _blueprint_names(endpoint: str) -> list[str]:
    """``"a.b.view"`` -> ``["a.b", "a"]``, innermost first, as Flask names nested blueprints."""
    blueprint = endpoint.rpartition(".")[0]
    names = []
    while blueprint:
        names.append(blueprint)
        blueprint = blueprint.rpartition(".")[0]
    return names
