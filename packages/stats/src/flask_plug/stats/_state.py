"""The per-app state of :class:`Stats`, kept in ``app.extensions["flask-plug-stats"]``."""

from __future__ import annotations

import math
import typing as t
from time import perf_counter

from flask import abort, current_app, request
from werkzeug.wrappers import Response

from .custom import InfoCollector, LabelledCollector, MetricSpec, TrackedMetric
from .failures import FailureLog
from .metrics import OTHER, STANDARD_METHODS, STATUS_LABELS, UNMATCHED, AppMetrics

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from flask import Flask, Request

    from .exposition import Exposition
    from .extension import Stats
    from .history import History
    from .settings import StatsSettings

EXTENSION_KEY = "flask-plug-stats"
# The access rule of each stats view; any other (the JSON view) has the JSON view's.
_VIEW_RULES = {
    "flask_plug_stats.metrics": "metrics",
    "flask_plug_stats.dashboard": "dashboard",
    "flask_plug_stats.static": "dashboard",
}
STARTED = "flask_plug.stats.started"
"""The ``environ`` key holding when the middleware began the request."""


def current_request_object() -> Request:
    """The request behind the ``request`` proxy.

    :raises RuntimeError: outside a request.
    """
    req: Request = request._get_current_object()  # type: ignore[attr-defined]
    return req


def get_state(app: Flask) -> StatsState:
    """The stats state of ``app``.

    :raises RuntimeError: if :meth:`Stats.init_app` was not called on ``app``.
    """
    state: StatsState | None = app.extensions.get(EXTENSION_KEY)
    if state is None:
        raise RuntimeError(
            "flask-plug-stats is not initialised on this app: call init_app(app) first"
        )
    return state


class StatsState:
    """The settings, metrics and caches of :class:`Stats` on one app."""

    history: History
    """The dashboard's history, set by :meth:`Stats.init_app`."""

    def __init__(self, stats: Stats, settings: StatsSettings) -> None:
        self.stats = stats
        self.settings = settings
        self.prefix = settings.metric_prefix
        self.metrics = AppMetrics(self.prefix, settings.buckets)
        self._label_cache: dict[str | None, str | None] = {}
        self._methods: frozenset[str] | None = None
        self._children: dict[tuple[str, str, str], tuple[t.Any, t.Any]] = {}
        self.failures = FailureLog()
        self.custom: dict[MetricSpec, TrackedMetric] = {}
        """The series of each metric declared with ``stats.counter`` and its kin."""
        self.labelled_collectors: dict[str, LabelledCollector] = {}
        self.infos = InfoCollector(stats._infos)
        self.exposition: Exposition
        """Set by :meth:`Stats.init_app`."""

    def add_metric(self, spec: MetricSpec) -> None:
        """Create the series of a declared metric in this app's registry.

        :raises ValueError: if the app already has a metric of that name.
        """
        settings = self.settings
        self.custom[spec] = TrackedMetric(
            spec, self.metrics.registry, settings.buckets, settings.max_label_sets, self.failures
        )

    def add_labelled_collector(self, name: str, labels: tuple[str, ...]) -> None:
        self.labelled_collectors[name] = LabelledCollector(
            name, labels, self.prefix, self.metrics.registry, self.settings.max_label_sets
        )

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
            elif endpoint == "static" and self.settings.exclude_static:
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
            req = current_request_object()
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
        req = current_request_object()
        rule = req.url_rule
        label = self.endpoint_label(None if rule is None else rule.endpoint)
        if label is None:
            return
        elapsed = perf_counter() - req.environ.get(STARTED, perf_counter())
        labelled = self.labelled_collectors
        for name, func in collectors.items():
            try:
                value = func(req, response, elapsed)
                if value is None:
                    continue
                if name in labelled:
                    labelled[name].add(label, value)
                    continue
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise TypeError(f"returned {value!r}, not a number")
                if value < 0 or math.isnan(value):
                    raise ValueError(f"returned {value!r}; totals only grow")
                self.metrics.collected.labels(name, label).inc(value)
            except Exception:
                self.failures.exception(
                    f"collector {name}", f"stats collector {name!r} failed; skipped"
                )

    def count_exception(self, sender: Flask, exception: BaseException, **extra: t.Any) -> None:
        rule = request.url_rule
        label = self.endpoint_label(None if rule is None else rule.endpoint)
        if label is not None:
            method = self.method_label(request.method)
            self.metrics.exceptions.labels(label, method, type(exception).__name__).inc()

    def check_access(self, endpoint: str | None) -> None:
        """Refuse the current request to a stats view unless its access rule allows it:
        401 with a challenge for a scraper without the metrics credentials, else 403.

        Views other than the dashboard and the metrics have the JSON view's rule."""
        settings = self.settings
        view = _VIEW_RULES.get(endpoint or "", "json")
        allowed = settings.view_access.get(view)
        credentials = settings.metrics_credentials
        if view == "metrics" and credentials is not None:
            if not credentials.check(request.headers.get("Authorization")):
                abort(challenge(credentials.challenges))
            if allowed is None:
                return  # the credentials replace the default rule
        if allowed is None:
            allowed = settings.access or self.stats._access
        if not allowed():
            abort(403)


def challenge(challenges: t.Sequence[str]) -> Response:
    """A 401 asking for credentials, one ``WWW-Authenticate`` per scheme."""
    response = Response("Credentials needed.\n", 401, mimetype="text/plain")
    for value in challenges:
        response.headers.add("WWW-Authenticate", value)
    return response
