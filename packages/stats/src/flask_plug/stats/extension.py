"""The :class:`Stats` extension: per-endpoint metrics, custom collectors, the views."""

from __future__ import annotations

import ipaddress
import math
import re
import time
import typing as t
from time import perf_counter

from flask import abort, current_app, got_request_exception, request, request_finished

from .metrics import (
    DEFAULT_BUCKETS,
    OTHER,
    STANDARD_METHODS,
    STATUS_LABELS,
    UNMATCHED,
    AppMetrics,
)

if t.TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask, Request
    from typing_extensions import Unpack
    from werkzeug.wrappers import Response

EXTENSION_KEY = "flask-plug-stats"
_STARTED = "flask_plug.stats.started"
# Prometheus's metric name syntax, ASCII only: str.isalnum() also took "1abc" and "é",
# which the exposition then mangled.
_METRIC_PREFIX = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.ASCII)
F = t.TypeVar("F", bound=t.Callable[..., t.Any])
Collector = t.Callable[["Request", "Response", float], "float | int | None"]
AccessCheck = t.Callable[[], bool]


class StatsOptions(t.TypedDict, total=False):
    """Keyword options of :class:`Stats`; each is also a ``STATS_*`` config key."""

    url_prefix: str
    exclude_static: bool
    buckets: t.Sequence[float]
    metric_prefix: str
    access: AccessCheck


DEFAULTS: dict[str, t.Any] = {
    "url_prefix": "/admin/stats",
    "exclude_static": True,
    "buckets": DEFAULT_BUCKETS,
    "metric_prefix": "flask_http",
    "access": None,
}


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
    :param metric_prefix: prefix of the Prometheus metric names. Default ``flask_http``.
    :param access: who may see the stats, a function returning true to allow the current
        request; for this app, instead of :meth:`access_check`. Default: loopback clients.
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
        settings = _resolve(app, {**self._options, **options})
        state = _StatsState(self, settings)
        app.extensions[EXTENSION_KEY] = state
        from .views import blueprint

        app.register_blueprint(blueprint, url_prefix=settings["url_prefix"])
        got_request_exception.connect(state.count_exception, app, weak=False)
        app.wsgi_app = _StatsMiddleware(app.wsgi_app, state)  # type: ignore[method-assign]

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


class _StatsState:
    def __init__(self, stats: Stats, settings: dict[str, t.Any]) -> None:
        self.stats = stats
        self.settings = settings
        self.prefix = settings["metric_prefix"]
        self.metrics = AppMetrics(self.prefix, settings["buckets"])
        self._label_cache: dict[str | None, str | None] = {}
        self._methods: frozenset[str] | None = None
        self._children: dict[tuple[str, str, str], tuple[t.Any, t.Any]] = {}
        self._collector_errors: dict[str, float] = {}

    def endpoint_label(self, endpoint: str | None) -> str | None:
        """The label for ``endpoint``, or ``None`` if it is left out; cached."""
        try:
            return self._label_cache[endpoint]
        except KeyError:
            pass
        label: str | None = UNMATCHED if endpoint is None else endpoint
        if endpoint is not None:
            view = current_app.view_functions.get(endpoint)
            if endpoint.startswith("flask_plug_stats.") or view in self.stats._excluded:
                label = None
            elif endpoint == "static" and self.settings["exclude_static"]:
                label = None
        self._label_cache[endpoint] = label
        return label

    def method_label(self, method: str) -> str:
        """``method`` if it is standard or some route declares it, else ``"other"``."""
        methods = self._methods
        if methods is None:
            # At the first request, not at init_app: routes are added after init_app, and
            # Flask refuses new ones once the first request has been handled.
            methods = STANDARD_METHODS.union(
                *(rule.methods or () for rule in current_app.url_map.iter_rules())
            )
            self._methods = methods
        return method if method in methods else OTHER

    def record(self, environ: WSGIEnvironment, status: str, elapsed: float) -> None:
        try:
            req: Request = request._get_current_object()  # type: ignore[attr-defined]
        except RuntimeError:
            return  # answered outside Flask's request handling
        rule = req.url_rule
        label = self.endpoint_label(None if rule is None else rule.endpoint)
        if label is None:
            return
        code = status[:3]
        # "1234 UNKNOWN" (any int goes through Werkzeug) is not status 123.
        if code not in STATUS_LABELS or status[3:4] not in ("", " "):
            code = OTHER
        key = (label, self.method_label(req.method), code)
        children = self._children.get(key)
        if children is None:  # the first such request: look the series up once
            metrics = self.metrics
            children = self._children[key] = (
                metrics.requests.labels(*key),
                metrics.latency.labels(*key[:2]),
            )
        children[0].inc()
        children[1].observe(elapsed)

    def run_collectors(self, response: Response) -> None:
        """Called through ``request_finished`` once the response is final."""
        collectors = self.stats._collectors
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        rule = req.url_rule
        label = self.endpoint_label(None if rule is None else rule.endpoint)
        if label is None:
            return
        elapsed = perf_counter() - req.environ.get(_STARTED, perf_counter())
        for name, func in collectors.items():
            try:
                value = func(req, response, elapsed)
                if value is not None:
                    if isinstance(value, bool) or not isinstance(value, (int, float)):
                        raise TypeError(f"returned {value!r}, not a number")
                    if value < 0 or math.isnan(value):
                        raise ValueError(f"returned {value!r}; totals only grow")
                    self.metrics.collected.labels(name, label).inc(value)
            except Exception:
                now = time.monotonic()
                if now - self._collector_errors.get(name, -math.inf) >= 60:
                    self._collector_errors[name] = now
                    current_app.logger.exception(
                        "stats collector %r failed; skipped (logged at most once a minute)", name
                    )

    def count_exception(self, sender: Flask, exception: BaseException, **extra: t.Any) -> None:
        rule = request.url_rule
        label = self.endpoint_label(None if rule is None else rule.endpoint)
        if label is not None:
            method = self.method_label(request.method)
            self.metrics.exceptions.labels(label, method, type(exception).__name__).inc()

    def check_access(self) -> None:
        allowed = self.settings["access"] or self.stats._access
        if not allowed():
            abort(403)


class _StatsMiddleware:
    """Times every request from entry to its response's headers, and counts it as the
    response starts, so 404s, aborts and 500s are counted like the rest."""

    def __init__(self, wsgi_app: WSGIApplication, state: _StatsState) -> None:
        self.wsgi_app = wsgi_app
        self._state = state
        self._in_flight = state.metrics.in_flight

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> t.Iterable[bytes]:
        started = environ[_STARTED] = perf_counter()
        state = self._state

        def counted_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
        ) -> t.Callable[[bytes], object]:
            state.record(environ, status, perf_counter() - started)
            return start_response(status, headers, exc_info)

        gauge = self._in_flight
        gauge.inc()
        try:
            return self.wsgi_app(environ, counted_start_response)
        finally:
            gauge.dec()


def _resolve(app: Flask, options: dict[str, t.Any]) -> dict[str, t.Any]:
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown Stats option(s): {', '.join(sorted(unknown))}")
    values = {
        option: options[option]
        if options.get(option) is not None
        else app.config.get(f"STATS_{option.upper()}", default)
        for option, default in DEFAULTS.items()
    }
    prefix = values["url_prefix"]
    if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"STATS_URL_PREFIX must be a path like '/admin/stats', got {prefix!r}")
    if not isinstance(values["exclude_static"], bool):
        raise ValueError(
            f"STATS_EXCLUDE_STATIC must be True or False, got {values['exclude_static']!r}"
        )
    buckets = values["buckets"]
    if (
        not isinstance(buckets, (list, tuple))
        or not buckets
        or not all(isinstance(b, (int, float)) and 0 < b < math.inf for b in buckets)
        or list(buckets) != sorted(set(buckets))
    ):
        raise ValueError(
            f"STATS_BUCKETS must be increasing, finite, positive seconds, got {buckets!r}"
        )
    if values["access"] is not None and not callable(values["access"]):
        raise ValueError(f"STATS_ACCESS must be a function, got {values['access']!r}")
    metric_prefix = values["metric_prefix"]
    if not isinstance(metric_prefix, str) or _METRIC_PREFIX.fullmatch(metric_prefix) is None:
        raise ValueError(
            "STATS_METRIC_PREFIX must be a Prometheus metric name: ASCII letters, digits, _"
            f" and :, not starting with a digit (like 'flask_http'), got {metric_prefix!r}"
        )
    return values
