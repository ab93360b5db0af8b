"""Metrics the app declares: per-view counters, gauges, histograms and summaries, labelled
collector totals and info metrics. A declaration belongs to the :class:`Stats` object;
each app gets its own series, in its own registry."""

from __future__ import annotations

import inspect
import math
import typing as t
from dataclasses import dataclass
from time import perf_counter

from prometheus_client import Counter, Gauge, Histogram, Summary
from prometheus_client.metrics_core import GaugeMetricFamily

from .labels import METRIC_NAME, LabelSets, label_name_error

if t.TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from prometheus_client import CollectorRegistry
    from prometheus_client.metrics_core import Metric
    from werkzeug.wrappers import Response

    from .failures import FailureLog

Kind = t.Literal["counter", "gauge", "histogram", "summary"]
LabelValue = str | int | float | t.Callable[[], object] | t.Callable[["Response"], object]
"""A label's value: fixed, or computed by a function of nothing or of the response."""


@dataclass(frozen=True, eq=False)
class Label:
    """One label of a declared metric."""

    name: str
    value: str | None
    """The fixed value, or ``None`` if :attr:`compute` computes it."""
    compute: t.Callable[..., object] | None = None
    takes_response: bool = False


@dataclass(frozen=True, eq=False)
class MetricSpec:
    """A metric declared with :meth:`Stats.counter` and its kin; hashed by identity."""

    kind: Kind
    name: str
    description: str
    labels: tuple[Label, ...]
    buckets: tuple[float, ...] | None
    max_label_sets: int | None


def check_metric_name(name: object, what: str) -> str:
    if not isinstance(name, str) or METRIC_NAME.fullmatch(name) is None:
        raise ValueError(
            f"{what}: {name!r} is not a Prometheus metric name (ASCII letters, digits, _ and"
            " :, not starting with a digit)"
        )
    return name


def check_label_names(names: t.Iterable[object], what: str) -> tuple[str, ...]:
    checked = []
    for name in names:
        error = label_name_error(name)
        if error is not None:
            raise ValueError(f"{what}: label {name!r} {error}")
        checked.append(t.cast(str, name))
    if len(set(checked)) != len(checked):
        raise ValueError(f"{what}: a label name is given twice: {checked}")
    return tuple(checked)


def check_max_label_sets(limit: object, what: str) -> int | None:
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000
    ):
        raise ValueError(f"{what}: max_label_sets must be a whole number 1-10000, got {limit!r}")
    return limit


def check_buckets(buckets: object, what: str) -> tuple[float, ...] | None:
    if buckets is None:
        return None
    if (
        not isinstance(buckets, (list, tuple))
        or not buckets
        or not all(isinstance(b, (int, float)) and 0 < b < math.inf for b in buckets)
        or list(buckets) != sorted(set(buckets))
    ):
        raise ValueError(f"{what}: buckets must be increasing, finite, positive, got {buckets!r}")
    return tuple(buckets)


def _label(name: str, value: object, kind: Kind, what: str) -> Label:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return Label(name, str(value))
    if not callable(value):
        raise TypeError(
            f"{what}: label {name!r} must be a text, a number or a function, got {value!r}"
        )
    try:
        parameters = inspect.signature(value).parameters.values()
    except (TypeError, ValueError) as e:
        raise TypeError(f"{what}: cannot tell what label {name!r}'s function takes") from e
    required = [
        p
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if len(required) > 1:
        raise TypeError(f"{what}: label {name!r}'s function must take nothing or the response")
    if required and kind == "gauge":
        raise TypeError(
            f"{what}: a gauge counts views in progress, before there is a response: label"
            f" {name!r}'s function must take no argument"
        )
    return Label(name, None, value, bool(required))


def declare(
    kind: Kind,
    name: object,
    description: object,
    labels: Mapping[str, LabelValue] | None,
    buckets: object,
    max_label_sets: object,
) -> MetricSpec:
    """A checked declaration.

    :raises ValueError: for a bad name, label name, buckets or limit.
    :raises TypeError: for a label value that is neither fixed nor a function.
    """
    what = f"stats.{kind}({name!r})"
    check_metric_name(name, what)
    if not isinstance(description, str):
        raise TypeError(f"{what}: the description must be a text, got {description!r}")
    if labels is not None and not hasattr(labels, "items"):
        raise TypeError(f"{what}: labels must be a dict of label names to values")
    items = dict(labels or {}).items()
    check_label_names((n for n, _ in items), what)
    reserved = {"histogram": "le", "summary": "quantile"}.get(kind)
    if reserved in dict(items):
        raise ValueError(f"{what}: a {kind} adds the label {reserved!r} itself")
    return MetricSpec(
        kind=kind,
        name=t.cast(str, name),
        description=description,
        labels=tuple(_label(n, v, kind, what) for n, v in items),
        buckets=check_buckets(buckets, what),
        max_label_sets=check_max_label_sets(max_label_sets, what),
    )


class TrackedMetric:
    """The series of one declared metric in one app."""

    def __init__(
        self,
        spec: MetricSpec,
        registry: CollectorRegistry,
        buckets: tuple[float, ...],
        max_label_sets: int,
        failures: FailureLog,
    ) -> None:
        self.spec = spec
        self._failures = failures
        names = [label.name for label in spec.labels]
        common: dict[str, t.Any] = {"registry": registry}
        try:
            if spec.kind == "counter":
                self.metric: t.Any = Counter(spec.name, spec.description, names, **common)
            elif spec.kind == "gauge":
                # livesum: the views in progress in the workers alive now.
                self.metric = Gauge(
                    spec.name, spec.description, names, multiprocess_mode="livesum", **common
                )
            elif spec.kind == "histogram":
                self.metric = Histogram(
                    spec.name, spec.description, names, buckets=spec.buckets or buckets, **common
                )
            else:
                self.metric = Summary(spec.name, spec.description, names, **common)
        except ValueError as e:  # a name some other metric of the app has
            raise ValueError(f"stats.{spec.kind}({spec.name!r}): {e}") from e
        self._sets = LabelSets(
            spec.max_label_sets or max_label_sets,
            tuple(label.compute is not None for label in spec.labels),
        )
        self._children: dict[tuple[str, ...], t.Any] = {}
        self._fixed: t.Any = None
        if all(label.compute is None for label in spec.labels):
            # Known now: exported from the start, at zero, like an unlabelled metric.
            values = tuple(t.cast(str, label.value) for label in spec.labels)
            self._fixed = self.metric.labels(*values) if values else self.metric

    def series(self, response: Response | None) -> t.Any:
        """The child to update for this request, or ``None`` if a label function failed
        (logged)."""
        if self._fixed is not None:
            return self._fixed
        try:
            values = self._sets.admit(
                tuple(
                    str(label.value)
                    if label.compute is None
                    else str(label.compute(response) if label.takes_response else label.compute())
                    for label in self.spec.labels
                )
            )
            child = self._children.get(values)
            if child is None:
                child = self._children[values] = self.metric.labels(*values)
            return child
        except Exception:
            self._failures.exception(
                f"metric {self.spec.name}",
                f"a label function of stats metric {self.spec.name!r} failed; not counted",
            )
            return None

    def record(self, started: float, response: Response) -> Response:
        """Count a response of a decorated view (an ``after_this_request`` function)."""
        child = self.series(response)
        if child is not None:
            if self.spec.kind == "counter":
                child.inc()
            else:
                child.observe(perf_counter() - started)
        return response


class LabelledCollector:
    """The per-endpoint totals of one collector registered with ``labels``, in one app:
    ``<prefix>_collected_<name>_total{collector, endpoint, *labels}``."""

    def __init__(
        self,
        name: str,
        labels: tuple[str, ...],
        prefix: str,
        registry: CollectorRegistry,
        max_label_sets: int,
    ) -> None:
        self.name = name
        self._width = len(labels)
        self.metric = Counter(
            f"{prefix}_collected_{name}",
            f"Totals of the custom collector {name}.",
            ("collector", "endpoint", *labels),
            registry=registry,
        )
        self._sets = LabelSets(max_label_sets, (True,) * len(labels))
        self._children: dict[tuple[str, ...], t.Any] = {}

    def add(self, endpoint: str, values: object) -> None:
        """Add what the collector returned: ``{label value (or tuple of them): number}``.

        :raises TypeError: for anything else.
        :raises ValueError: for a negative or NaN number.
        """
        if not hasattr(values, "items"):
            raise TypeError(f"returned {values!r}, not a dict of label values to numbers")
        for key, value in t.cast("Mapping[object, object]", values).items():
            labels = key if isinstance(key, tuple) else (key,)
            if len(labels) != self._width:
                raise TypeError(f"returned the key {key!r}, not {self._width} label value(s)")
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"returned {value!r}, not a number")
            if value < 0 or math.isnan(value):
                raise ValueError(f"returned {value!r}; totals only grow")
            admitted = (self.name, endpoint, *self._sets.admit(tuple(map(str, labels))))
            child = self._children.get(admitted)
            if child is None:
                child = self._children[admitted] = self.metric.labels(*admitted)
            child.inc(value)


@dataclass(frozen=True)
class InfoSpec:
    """An info metric: one series, value 1, whose labels say something about the app."""

    name: str
    description: str
    labels: tuple[tuple[str, str], ...]


def declare_info(name: object, description: object, labels: Mapping[str, object]) -> InfoSpec:
    what = f"stats.info({name!r})"
    check_metric_name(name, what)
    if not isinstance(description, str):
        raise TypeError(f"{what}: the description must be a text, got {description!r}")
    check_label_names(labels, what)
    for label, value in labels.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise TypeError(f"{what}: label {label!r} must be a text or a number, got {value!r}")
    return InfoSpec(t.cast(str, name), description, tuple((k, str(v)) for k, v in labels.items()))


class InfoCollector:
    """The info metrics of a :class:`Stats` object, read at each scrape: constant, so
    neither requests nor the multiprocess files carry them."""

    def __init__(self, infos: Mapping[str, InfoSpec]) -> None:
        self._infos = infos

    def collect(self) -> Iterator[Metric]:
        for info in list(self._infos.values()):
            family = GaugeMetricFamily(
                info.name, info.description, labels=[k for k, _ in info.labels]
            )
            family.add_metric([v for _, v in info.labels], 1)
            yield family
