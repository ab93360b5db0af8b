"""The dashboard's history: the app's totals sampled once per interval, the last few kept.

Intervals are aligned on the wall clock (``floor(time / interval)``), so every worker
agrees on where one ends. The first request of an interval takes the sample, before it is
timed or counted (in multiprocess mode, once its response is sent: see
:class:`SharedHistory`): the middleware compares one float per request, and there is no
thread to start, stop or lose at a fork. Since any request may take it, a sample holds the
totals as they were when the interval began, and an interval no request reached had none:
what came in between two samples was answered in the first one's interval.
"""

from __future__ import annotations

import json
import math
import os
import time
import typing as t
from array import array
from collections import deque
from functools import partial
from itertools import pairwise
from pathlib import Path
from time import perf_counter

from .summary import quantile

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from logging import Logger

    from prometheus_client.metrics_core import Metric

    from .metrics import AppMetrics
    from .settings import StatsSettings

Sample = t.Sequence[float]
"""``[interval number, requests, 5xx responses, seconds, *cumulative bucket counts]``:
the totals over every endpoint when that interval began."""

# A failing sample is logged at most this often (seconds), as a failing collector is.
_LOG_EVERY = 60.0


def totals(families: Iterable[Metric], prefix: str, bounds: Sequence[float]) -> list[float]:
    """Requests, 5xx responses, seconds and the cumulative count of each latency bucket
    (``bounds``, then ``+Inf``), summed over every endpoint of ``families``."""
    requests, buckets, seconds = (
        f"{prefix}_requests_total",
        f"{prefix}_request_duration_seconds_bucket",
        f"{prefix}_request_duration_seconds_sum",
    )
    index = {bound: i for i, bound in enumerate((*bounds, math.inf), start=3)}
    values = [0.0] * (len(bounds) + 4)
    for family in families:
        for sample in family.samples:
            name = sample.name
            if name == requests:
                values[0] += sample.value
                if sample.labels["status"][:1] == "5":
                    values[1] += sample.value
            elif name == buckets:
                # Files of a run with other buckets may linger in the multiprocess directory.
                position = index.get(float(sample.labels["le"]))
                if position is not None:
                    values[position] += sample.value
            elif name == seconds:
                values[2] += sample.value
    return values


class History:
    """The samples of one app in this process: each worker's own, without multiprocess
    mode. A ``deque`` of at most ``samples + 1`` arrays of floats."""

    deferred = False
    """Whether a sample waits until the response that took it has been sent."""

    def __init__(self, settings: StatsSettings, metrics: AppMetrics, logger: Logger) -> None:
        self.interval = settings.history_interval
        self.size = settings.history_samples
        self.due = -math.inf if self.size else math.inf
        """When the next interval begins, in ``perf_counter()`` seconds: the middleware
        calls :meth:`tick` once a request starts at or after it."""
        self._prefix = settings.metric_prefix
        self._bounds = settings.buckets
        self._metrics = metrics
        self._logger = logger
        self._failed_at = -math.inf
        # One more than shown: the oldest interval shown needs the sample that ends it too.
        self._samples: deque[Sample] = deque(maxlen=self.size + 1)

    def tick(self) -> t.Callable[[], None] | None:
        """Sample the interval that began, now or, if deferred, with the returned function
        once the response is sent."""
        wall = time.time()
        number = math.floor(wall / self.interval)
        # Set first: another thread's request now passes by instead of sampling twice.
        self.due = perf_counter() + (number + 1) * self.interval - wall
        if self.deferred:
            return partial(self.sample, number)
        self.sample(number)
        return None

    def sample(self, number: int) -> None:
        """Store the totals as interval ``number`` begins; never raises."""
        try:
            self._store(number)
        except Exception:
            self._log_failure("sampling failed; skipped")

    def _log_failure(self, what: str) -> None:
        now = time.monotonic()
        if now - self._failed_at >= _LOG_EVERY:
            self._failed_at = now
            self._logger.exception("stats history: %s (logged at most once a minute)", what)

    def _store(self, number: int) -> None:
        samples = self._samples
        if samples and samples[-1][0] >= number:
            return  # taken already, by a request of another thread
        metrics = self._metrics
        families = [*metrics.requests.collect(), *metrics.latency.collect()]
        samples.append(array("d", (number, *totals(families, self._prefix, self._bounds))))

    def stored(self) -> list[Sample]:
        """The samples kept, oldest first."""
        return list(self._samples)

    def report(self, families: Iterable[Metric]) -> dict[str, t.Any]:
        """``{"interval": seconds, "points": [...]}``: one point per complete interval of
        the last :attr:`size`, oldest first, from the first one sampled; ``families``
        gives the totals now, which end the last intervals."""
        if not self.size:
            return {"interval": self.interval, "points": []}
        now = time.time()
        current = totals(families, self._prefix, self._bounds)
        return {
            "interval": self.interval,
            "points": points(
                self.stored(),
                current,
                interval=self.interval,
                size=self.size,
                now=now,
                bounds=self._bounds,
            ),
        }


class SharedHistory(History):
    """The samples of every worker together, in multiprocess mode: one JSON file in
    ``PROMETHEUS_MULTIPROC_DIR`` beside prometheus_client's, so a worker that was replaced
    leaves its history to the others.

    The first request of an interval in any worker samples it, after its response has
    been sent: the sample reads every worker's files, which a request must not wait for.
    The file is replaced whole (``os.replace``), so readers never see half of one.
    """

    deferred = True

    def __init__(
        self, settings: StatsSettings, metrics: AppMetrics, logger: Logger, directory: str
    ) -> None:
        super().__init__(settings, metrics, logger)
        self.path = Path(directory) / f"flask_plug_stats_{settings.metric_prefix}_history.json"

    def _store(self, number: int) -> None:
        stored = self.stored()
        if stored and stored[-1][0] >= number:
            return  # another worker was first
        registry = self._metrics.read_registry()
        sample = [number, *totals(registry.collect(), self._prefix, self._bounds)]
        kept = [s for s in stored if s[0] >= number - self.size][-self.size :]
        spare = self.path.with_name(f"{self.path.name}.{os.getpid()}")
        spare.write_text(json.dumps([*kept, sample]), encoding="utf-8")
        os.replace(spare, self.path)

    def stored(self) -> list[Sample]:
        try:
            samples: list[Sample] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []  # no worker has sampled yet
        except (OSError, ValueError):
            self._log_failure(f"{self.path} is unreadable; it is replaced at the next sample")
            return []
        # Left by a run with other buckets, if the directory was not emptied: not comparable.
        width = len(self._bounds) + 5
        return [sample for sample in samples if len(sample) == width]


def open_history(settings: StatsSettings, metrics: AppMetrics, logger: Logger) -> History:
    """The history of one app: in this process, or shared in multiprocess mode."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics.multiprocess and directory and settings.history_samples:
        return SharedHistory(settings, metrics, logger, directory)
    return History(settings, metrics, logger)


def points(
    stored: Sequence[Sample],
    totals_now: Sequence[float],
    *,
    interval: float,
    size: int,
    now: float,
    bounds: Sequence[float],
) -> list[dict[str, t.Any]]:
    """One point per complete interval, the ``size`` last ones at most, oldest first:
    its ``start`` (Unix time), ``requests``, ``errors`` (5xx responses), and ``mean``,
    ``p50``, ``p95``, ``p99`` seconds (``None`` when it answered no request).

    ``totals_now`` (as :func:`totals` returns them) end the intervals since the last sample.
    """
    this = math.floor(now / interval)  # the interval in progress, not shown
    first = this - size
    chain: list[Sample] = []
    for sample in stored:
        # Two samples of one interval (a race between threads or workers): the first counts.
        if not chain or sample[0] > chain[-1][0]:
            chain.append(sample)
    chain.append([this, *totals_now])
    result: list[dict[str, t.Any]] = []
    for before, after in pairwise(chain):
        number, end = int(before[0]), min(int(after[0]), this)
        if first <= number < this:
            result.append(_point(number, interval, before, after, bounds))
        # No request began in these: nothing was answered in them.
        empty = range(max(number + 1, first), end)
        result.extend(_point(n, interval, None, None, bounds) for n in empty)
    return result


def _point(
    number: int,
    interval: float,
    before: Sample | None,
    after: Sample | None,
    bounds: Sequence[float],
) -> dict[str, t.Any]:
    # Rounded: number * interval carries float noise (1764045600.3000002).
    point: dict[str, t.Any] = {"start": round(number * interval, 6), "requests": 0, "errors": 0}
    point.update(mean=None, p50=None, p95=None, p99=None)
    if before is None or after is None:
        return point
    # max(): totals only grow, unless someone emptied the multiprocess directory.
    growth = (max(0.0, a - b) for a, b in zip(after[1:], before[1:], strict=True))
    requests, errors, seconds, *counts = growth
    point.update(requests=int(requests), errors=int(errors))
    if counts[-1]:
        cumulative = list(zip((*bounds, math.inf), counts, strict=True))
        point.update(
            mean=seconds / counts[-1],
            p50=quantile(0.5, cumulative),
            p95=quantile(0.95, cumulative),
            p99=quantile(0.99, cumulative),
        )
    return point
