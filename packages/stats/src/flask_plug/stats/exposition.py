"""What ``/metrics`` shows: the app's metrics (every worker's in multiprocess mode), its
info metrics and, at scrape time only, the process, platform and GC collectors; with the
default labels, and without the ``*_created`` series unless asked for."""

from __future__ import annotations

import typing as t

from flask import current_app
from prometheus_client import CollectorRegistry, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from ._state import get_state

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from flask import Flask

    from ._state import StatsState

# The families whose samples include a ``<name>_created`` one.
_CREATED_TYPES = frozenset({"counter", "histogram", "summary", "gaugehistogram"})


class Exposition:
    """A prometheus_client collector of everything one app exports.

    The ``*_created`` series are dropped here, for this app's output only:
    ``prometheus_client.disable_created_metrics()`` would turn them off for every
    registry of the process.
    """

    def __init__(self, state: StatsState) -> None:
        self._state = state
        settings = state.settings
        self._created = settings.created_metrics
        self._labels = dict(settings.default_labels)
        # Collected only when scraped; never registered in the app's registry, so requests
        # and the JSON view do not pay for them.
        self._system = CollectorRegistry(auto_describe=True)
        if settings.process_metrics:
            PlatformCollector(registry=self._system)
            if not state.metrics.multiprocess:
                # In multiprocess mode these would describe whichever worker answered.
                ProcessCollector(registry=self._system)
                GCCollector(registry=self._system)

    def collect(self) -> Iterator[Metric]:
        state = self._state
        for collector in (state.metrics.read_registry(), state.infos, self._system):
            for family in collector.collect():
                yield self._exported(family)

    def _exported(self, family: Metric) -> Metric:
        samples = family.samples
        if not self._created and family.type in _CREATED_TYPES:
            created = (f"{family.name}_created", f"{family.name}_gcreated")
            samples = [s for s in samples if s.name not in created]
        if self._labels:
            # The metric's own label of the same name wins.
            samples = [s._replace(labels={**self._labels, **s.labels}) for s in samples]
        if samples is family.samples:
            return family
        exported = Metric(family.name, family.documentation, family.type, family.unit)
        exported.samples = samples
        return exported

    def generate(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition in the format ``accept`` (an ``Accept`` header) prefers:
        Prometheus text, or OpenMetrics; and its ``Content-Type``."""
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self), content_type


def generate_metrics(app: Flask | None = None, accept: str | None = None) -> tuple[bytes, str]:
    """What the metrics view answers, for a view or server of your own.

    :param app: the app; default the current one.
    :param accept: the scraper's ``Accept`` header, to choose the format.
    :return: the body and its ``Content-Type``.

    .. versionadded:: 0.2
    """
    state = get_state(current_app if app is None else app)
    return state.exposition.generate(accept)
