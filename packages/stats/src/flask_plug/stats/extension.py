"""The :class:`Stats` extension: per-endpoint metrics, custom collectors, the views."""

from __future__ import annotations

import functools
import ipaddress
import typing as t
import weakref
from time import perf_counter

from flask import after_this_request, current_app, got_request_exception, request, request_finished

from ._state import EXTENSION_KEY, StatsState
from .cli import stats_cli
from .custom import InfoSpec, LabelValue, MetricSpec, check_label_names, declare, declare_info
from .exposition import Exposition
from .history import open_history
from .labels import METRIC_NAME
from .middleware import StatsMiddleware
from .settings import AccessCheck, StatsOptions, resolve
from .views import blueprint

if t.TYPE_CHECKING:
    from flask import Flask, Request
    from typing_extensions import Unpack
    from werkzeug.wrappers import Response

__all__ = ["EXTENSION_KEY", "Stats", "StatsOptions", "loopback_only"]

F = t.TypeVar("F", bound=t.Callable[..., t.Any])
Collector = t.Callable[["Request", "Response", float], t.Any]


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
    :param json_access: the rule of the JSON view (and any view but the two below).
        Default: the rule above.
    :param dashboard_access: the rule of the dashboard and its script. Default: the rule
        above.
    :param metrics_access: the rule of the metrics. Default: the rule above, unless
        credentials are set; with them, it applies on top of them.
    :param metrics_path: where the metrics are: a path outside ``url_prefix`` such as
        ``/metrics``, or ``False`` for nowhere in the app. Default
        ``<url_prefix>/metrics``.
    :param metrics_username: with ``metrics_password``, HTTP Basic credentials a scraper
        of the metrics must send. Default: none.
    :param metrics_password: see ``metrics_username``.
    :param metrics_bearer_token: a bearer token a scraper of the metrics may send
        instead. Default: none.
    :param default_labels: label names to texts added to every exported series.
    :param max_label_sets: label sets a custom metric or labelled collector keeps
        before counting new ones as ``other``. Default 100.
    :param process_metrics: export prometheus_client's process, platform and GC
        metrics. Default ``True``.
    :param created_metrics: export the ``*_created`` series. Default ``False``.

    .. versionchanged:: 0.2
        Non-standard methods a route does not declare are labelled ``other``, as is a
        status outside 100-599.

    .. versionchanged:: 0.2
        A ``STATS_*`` config key set to ``None`` means its default.

    .. versionadded:: 0.2
        Custom metrics (:meth:`counter`, :meth:`gauge`, :meth:`histogram`,
        :meth:`summary`, :meth:`info`), labelled collectors, default labels, process
        metrics, per-view access rules, scraper credentials and ``STATS_METRICS_PATH``;
        ``history_interval`` and ``history_samples``, the dashboard's history kept by the
        server, and ``history`` in the JSON view.
    """

    def __init__(self, app: Flask | None = None, **options: Unpack[StatsOptions]) -> None:
        self._options = dict(options)
        self._collectors: dict[str, Collector] = {}
        self._collector_labels: dict[str, tuple[str, ...]] = {}
        self._metrics: list[MetricSpec] = []
        self._infos: dict[str, InfoSpec] = {}
        # The apps registered so far, through their state: a metric declared after
        # init_app (views imported by the app factory) gets its series in each at once.
        self._states: weakref.WeakSet[StatsState] = weakref.WeakSet()
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
        for spec in self._metrics:
            state.add_metric(spec)
        for name, labels in self._collector_labels.items():
            state.add_labelled_collector(name, labels)
        state.exposition = Exposition(state)
        state.history = open_history(settings, state.metrics, app.logger)
        app.extensions[EXTENSION_KEY] = state
        self._states.add(state)
        app.register_blueprint(blueprint, url_prefix=settings.url_prefix)
        app.cli.add_command(stats_cli)
        got_request_exception.connect(state.count_exception, app, weak=False)
        app.wsgi_app = StatsMiddleware(app.wsgi_app, state)  # type: ignore[method-assign]

    def register_collector(
        self, name: str, func: Collector, *, labels: t.Sequence[str] = ()
    ) -> None:
        """Add ``func(request, response, elapsed_seconds)``: the number it returns is added
        up per endpoint (``None`` adds nothing). A collector that raises is logged, at
        most once a minute per collector, and skipped; the others still run.

        :param labels: label names: then ``func`` returns a dict of label values (a tuple
            of them for several labels) to numbers, each added up per endpoint and label
            values in ``<prefix>_collected_<name>_total``. Past ``STATS_MAX_LABEL_SETS``
            label sets, new values are counted as ``other``.

        .. versionchanged:: 0.2
            ``labels``.
        """
        if not isinstance(name, str) or not name or not callable(func):
            raise ValueError("register_collector needs a name and a function")
        labels = tuple(labels)
        if labels:
            what = f"register_collector({name!r})"
            # The name ends the metric's name: "a" stands for the prefix before it.
            if METRIC_NAME.fullmatch(f"a{name}") is None:
                raise ValueError(
                    f"{what}: a collector with labels needs a name of ASCII"
                    " letters, digits, _ and :"
                )
            check_label_names(("collector", "endpoint", *labels), what)
        if self._collector_labels.get(name, labels) != labels:
            raise ValueError(f"collector {name!r} is registered with other labels")
        if not self._collectors:
            # Only now: without collectors, requests do not pay for calling them.
            request_finished.connect(self._run_collectors, weak=False)
        if labels and name not in self._collector_labels:
            for state in self._states:
                state.add_labelled_collector(name, labels)
            self._collector_labels[name] = labels
        self._collectors[name] = func

    def _run_collectors(self, sender: Flask, response: Response, **extra: t.Any) -> None:
        state = sender.extensions.get(EXTENSION_KEY)
        if state is not None and state.stats is self:
            state.run_collectors(response)

    def collector(
        self, name: str, *, labels: t.Sequence[str] = ()
    ) -> t.Callable[[Collector], Collector]:
        """``register_collector`` as a decorator: ``@stats.collector("large_responses")``."""

        def decorator(func: Collector) -> Collector:
            self.register_collector(name, func, labels=labels)
            return func

        return decorator

    def counter(
        self,
        name: str,
        description: str,
        *,
        labels: t.Mapping[str, LabelValue] | None = None,
        max_label_sets: int | None = None,
    ) -> t.Callable[[F], F]:
        """A decorator counting the responses of the views it decorates, in
        ``<name>_total``::

            @app.get("/items/<kind>")
            @stats.counter("item_reads", "Item reads.", labels={
                "status": lambda response: response.status_code,
                "kind": lambda: request.view_args["kind"],
            })
            def items(kind): ...

        :param name: the metric's name, as exported (no prefix is added).
        :param description: its help text.
        :param labels: label names to values: a fixed text or number, a function of
            nothing (called in the request) or of the response. A function's values
            are counted as they are up to ``max_label_sets`` label sets; past that,
            every computed value is counted as ``other``, as is a value longer than
            200 characters.
        :param max_label_sets: default ``STATS_MAX_LABEL_SETS`` (100).
        :raises ValueError: for a name or label name Prometheus refuses, or a name
            already declared on this object or used by the app's other metrics.

        One metric may decorate several views. It counts in every app this object is
        registered on, each in the app's own registry, and in multiprocess mode across
        workers. ``@stats.exclude`` does not stop it.

        .. versionadded:: 0.2
        """
        return self._track(declare("counter", name, description, labels, None, max_label_sets))

    def histogram(
        self,
        name: str,
        description: str,
        *,
        labels: t.Mapping[str, LabelValue] | None = None,
        buckets: t.Sequence[float] | None = None,
        max_label_sets: int | None = None,
    ) -> t.Callable[[F], F]:
        """A decorator observing, in a histogram, the seconds from the view's call to its
        response (error handlers included). As :meth:`counter`, with:

        :param buckets: upper bounds in seconds; default ``STATS_BUCKETS``.

        .. versionadded:: 0.2
        """
        spec = declare("histogram", name, description, labels, buckets, max_label_sets)
        return self._track(spec)

    def summary(
        self,
        name: str,
        description: str,
        *,
        labels: t.Mapping[str, LabelValue] | None = None,
        max_label_sets: int | None = None,
    ) -> t.Callable[[F], F]:
        """As :meth:`histogram`, in a summary: a count and a sum of seconds, no buckets
        (prometheus_client computes no quantiles).

        .. versionadded:: 0.2
        """
        return self._track(declare("summary", name, description, labels, None, max_label_sets))

    def gauge(
        self,
        name: str,
        description: str,
        *,
        labels: t.Mapping[str, LabelValue] | None = None,
        max_label_sets: int | None = None,
    ) -> t.Callable[[F], F]:
        """A decorator counting the calls of the views it decorates that are in progress.
        As :meth:`counter`, but a label function takes no argument: there is no response
        yet. In multiprocess mode the workers alive add up.

        .. versionadded:: 0.2
        """
        return self._track(declare("gauge", name, description, labels, None, max_label_sets))

    def info(self, name: str, description: str, **labels: str | int | float) -> None:
        """Export one series of value 1 whose labels describe the app::

            stats.info("app_info", "The app's version.", version="1.2", commit="4f1c2e9")

        Read at each scrape; constant, so it costs requests nothing.

        :raises ValueError: for a name or label name Prometheus refuses, or a name
            already declared on this object.

        .. versionadded:: 0.2
        """
        spec = declare_info(name, description, labels)
        self._check_new_name(spec.name)
        self._infos[spec.name] = spec

    def _check_new_name(self, name: str) -> None:
        if name in self._infos or any(spec.name == name for spec in self._metrics):
            raise ValueError(f"a metric named {name!r} is already declared on this Stats object")

    def _track(self, spec: MetricSpec) -> t.Callable[[F], F]:
        self._check_new_name(spec.name)
        for state in self._states:
            state.add_metric(spec)
        self._metrics.append(spec)
        if spec.kind == "gauge":
            return self._in_progress(spec)

        def decorator(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                state = current_app.extensions.get(EXTENSION_KEY)
                if state is not None and state.stats is self:
                    # Counted with the final response, whatever answers: the view, an
                    # error handler, the 500 page.
                    after_this_request(functools.partial(state.custom[spec].record, perf_counter()))
                return current_app.ensure_sync(view)(*args, **kwargs)

            return t.cast(F, wrapper)

        return decorator

    def _in_progress(self, spec: MetricSpec) -> t.Callable[[F], F]:
        def decorator(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
                state = current_app.extensions.get(EXTENSION_KEY)
                gauge = None
                if state is not None and state.stats is self:
                    gauge = state.custom[spec].series(None)
                if gauge is None:
                    return current_app.ensure_sync(view)(*args, **kwargs)
                gauge.inc()
                try:
                    return current_app.ensure_sync(view)(*args, **kwargs)
                finally:
                    gauge.dec()

            return t.cast(F, wrapper)

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
