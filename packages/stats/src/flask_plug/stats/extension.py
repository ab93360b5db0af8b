"""The :class:`Stats` extension: per-endpoint metrics, custom collectors, the views."""

from __future__ import annotations

import ipaddress
import typing as t

from flask import got_request_exception, request, request_finished

from ._state import EXTENSION_KEY, StatsState
from .history import open_history
from .middleware import StatsMiddleware
from .settings import AccessCheck, StatsOptions, resolve
from .views import blueprint

if t.TYPE_CHECKING:
    from flask import Flask, Request
    from typing_extensions import Unpack
    from werkzeug.wrappers import Response

__all__ = ["EXTENSION_KEY", "Stats", "StatsOptions", "loopback_only"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
Collector = t.Callable[["Request", "Response", float], "float | int | None"]


def loopback_only() -> bool:
    """The default access rule: only clients on this machine see the stats."""
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


class Stats:
    """Per-endpoint request metrics: counts, latency percentiles, errors, custom collectors,
    as JSON, an HTML dashboard and Prometheus text, under ``STATS_URL_PREFIX``.

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param url_prefix: where the views live. Default ``/admin/stats``.
    :param exclude_static: leave ``static`` out. Default ``True``.
    :param buckets: latency histogram buckets in seconds.
    :param history_interval: seconds per point of the dashboard's history. Default ``10``.
    :param history_samples: how many intervals the history keeps; ``0`` keeps none.
        Default ``180``.
    :param metric_prefix: prefix of the Prometheus metric names. Default ``flask_http``.
    :param access: who may see the stats, a function returning true to allow the current
        request; for this app, instead of :meth:`access_check`. Default: loopback clients.

    .. versionchanged:: 0.2
        Non-standard methods a route does not declare are labelled ``other``, as is a
        status outside 100-599.

    .. versionchanged:: 0.2
        A ``STATS_*`` config key set to ``None`` means its default.

    .. versionadded:: 0.2
        ``history_interval`` and ``history_samples``: the dashboard's history, kept by the
        server, and ``history`` in the JSON view.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[StatsOptions]) -> None:
        self._options = dict(options)
        self._collectors: dict[str, Collector] = {}
        self._excluded: set[t.Callable[..., t.Any]] = set()
        self._access: AccessCheck = loopback_only
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, **options: Unpack[StatsOptions]) -> None:
        """Register on ``app``.

        :raises RuntimeError: if stats are already registered on ``app``.
        :raises ValueError: naming the config key, for any bad value.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-stats is already registered on this app; call init_app once per app"
            )
        settings = resolve(app, {**self._options, **options})
        state = StatsState(self, settings)
        state.history = open_history(settings, state.metrics, app.logger)
        app.extensions[EXTENSION_KEY] = state
        app.register_blueprint(blueprint, url_prefix=settings.url_prefix)
        got_request_exception.connect(state.count_exception, app, weak=False)
        app.wsgi_app = StatsMiddleware(app.wsgi_app, state)  # type: ignore[method-assign]

    def register_collector(self, name: str, func: Collector) -> None:
        """Add ``func(request, response, elapsed_seconds)``: the number it returns is added
        up per endpoint (``None`` adds nothing). A collector that raises is logged, at
        most once a minute per collector, and skipped; the others still run."""
        if not isinstance(name, str) or not name or not callable(func):
            raise ValueError("register_collector needs a name and a function")
        if not self._collectors:
            # Only now: without collectors, requests do not pay for calling them.
            request_finished.connect(self._run_collectors, weak=False)
        self._collectors[name] = func

    def _run_collectors(self, sender: Flask, response: Response, **extra: t.Any) -> None:
        state = sender.extensions.get(EXTENSION_KEY)
        if state is not None and state.stats is self:
            state.run_collectors(response)

    def collector(self, name: str) -> t.Callable[[Collector], Collector]:
        """``register_collector`` as a decorator: ``@stats.collector("large_responses")``."""

        def decorator(func: Collector) -> Collector:
            self.register_collector(name, func)
            return func

        return decorator

    def exclude(self, view: F) -> F:
        """Leave a view out of the metrics (health checks, ...)."""
        self._excluded.add(view)
        return view

    def access_check(self, func: AccessCheck) -> AccessCheck:
        """Decide who sees the stats: ``func()`` returns true to allow the current
        request. Replaces the default, loopback clients only::

            @stats.access_check
            def admins_only():
                return g.user is not None and g.user.has_role("admin")
        """
        self._access = func
        return func
