"""The stats options: keyword, then ``STATS_*`` config key, then default; validated once."""

from __future__ import annotations

import math
import re
import typing as t
from dataclasses import dataclass

from .metrics import DEFAULT_BUCKETS

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from flask import Flask

AccessCheck = t.Callable[[], bool]
# Prometheus's metric name syntax, ASCII only: str.isalnum() also took "1abc" and "é",
# which the exposition then mangled.
_METRIC_PREFIX = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.ASCII)
# A week of one-minute samples; far more is a typo, and would cost memory in every worker.
MAX_SAMPLES = 10_080


class StatsOptions(t.TypedDict, total=False):
    """Keyword options of :class:`Stats`; each is also a ``STATS_*`` config key."""

    url_prefix: str
    exclude_static: bool
    buckets: t.Sequence[float]
    metric_prefix: str
    access: AccessCheck
    history_interval: float
    history_samples: int


@dataclass(frozen=True)
class StatsSettings:
    """The resolved options of one app."""

    url_prefix: str
    """Where the views live (``STATS_URL_PREFIX``)."""
    exclude_static: bool
    """Leave the ``static`` endpoint out (``STATS_EXCLUDE_STATIC``)."""
    buckets: tuple[float, ...]
    """Latency histogram buckets in seconds (``STATS_BUCKETS``)."""
    access: AccessCheck | None
    """Who may see the stats; ``None`` leaves it to :meth:`Stats.access_check`
    (``STATS_ACCESS``)."""
    metric_prefix: str
    """Prefix of the Prometheus metric names (``STATS_METRIC_PREFIX``)."""
    history_interval: float
    """Seconds between two samples of the dashboard's history (``STATS_HISTORY_INTERVAL``)."""
    history_samples: int
    """How many intervals the history keeps; ``0`` keeps none (``STATS_HISTORY_SAMPLES``)."""


class _Config:
    """Reads each option: the keyword argument, else the app's config key, else the default.

    ``None`` counts as not given, so ``None`` anywhere means "use the default".
    """

    def __init__(
        self, app: Flask, options: Mapping[str, t.Any], known: type, prefix: str, owner: str
    ) -> None:
        self.check(options, known, owner)
        self.app = app
        self.options = options
        self.prefix = prefix

    @staticmethod
    def check(options: Mapping[str, t.Any], known: type, owner: str) -> None:
        """Refuse the keyword options the ``TypedDict`` ``known`` does not declare; needs
        no app, so an option can be refused where it is given.

        :raises TypeError: naming the unknown options.
        """
        unknown = set(options) - set(known.__annotations__)
        if unknown:
            raise TypeError(f"unknown {owner} option(s): {', '.join(sorted(unknown))}")

    def key(self, option: str) -> str:
        """The config key of ``option``: ``"max_age"`` -> ``"CORS_MAX_AGE"``."""
        return f"{self.prefix}{option.upper()}"

    def value(self, option: str, default: t.Any) -> t.Any:
        """The keyword value, else the config value, else ``default``."""
        value = self.options.get(option)
        if value is None:
            value = self.app.config.get(self.key(option))
        return default if value is None else value

    def flag(self, option: str, default: bool) -> bool:
        """A value that must be ``True`` or ``False``."""
        value = self.value(option, default)
        if not isinstance(value, bool):
            raise ValueError(f"{self.key(option)} must be True or False, got {value!r}")
        return value


def resolve(app: Flask, options: Mapping[str, t.Any]) -> StatsSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises TypeError: for an unknown keyword option.
    :raises ValueError: naming the config key and what it expects, for any bad value.
    """
    config = _Config(app, options, StatsOptions, "STATS_", "Stats")
    return StatsSettings(
        url_prefix=_url_prefix(config, "url_prefix"),
        exclude_static=config.flag("exclude_static", True),
        buckets=_buckets(config, "buckets"),
        access=_access(config, "access"),
        metric_prefix=_metric_prefix(config, "metric_prefix"),
        history_interval=_history_interval(config, "history_interval"),
        history_samples=_history_samples(config, "history_samples"),
    )


def _url_prefix(config: _Config, option: str) -> str:
    prefix = config.value(option, "/admin/stats")
    if not isinstance(prefix, str) or not prefix.startswith("/") or prefix.endswith("/"):
        raise ValueError(f"{config.key(option)} must be a path like '/admin/stats', got {prefix!r}")
    return prefix


def _buckets(config: _Config, option: str) -> tuple[float, ...]:
    buckets = config.value(option, DEFAULT_BUCKETS)
    if (
        not isinstance(buckets, (list, tuple))
        or not buckets
        or not all(isinstance(b, (int, float)) and 0 < b < math.inf for b in buckets)
        or list(buckets) != sorted(set(buckets))
    ):
        raise ValueError(
            f"{config.key(option)} must be increasing, finite, positive seconds, got {buckets!r}"
        )
    return tuple(buckets)


def _access(config: _Config, option: str) -> AccessCheck | None:
    access: AccessCheck | None = config.value(option, None)
    if access is not None and not callable(access):
        raise ValueError(f"{config.key(option)} must be a function, got {access!r}")
    return access


def _metric_prefix(config: _Config, option: str) -> str:
    prefix = config.value(option, "flask_http")
    if not isinstance(prefix, str) or _METRIC_PREFIX.fullmatch(prefix) is None:
        raise ValueError(
            f"{config.key(option)} must be a Prometheus metric name: ASCII letters, digits, _"
            f" and :, not starting with a digit (like 'flask_http'), got {prefix!r}"
        )
    return prefix


def _history_interval(config: _Config, option: str) -> float:
    interval = config.value(option, 10.0)
    # Below 10 ms the samples would cost more than the requests they describe.
    if (
        isinstance(interval, bool)
        or not isinstance(interval, (int, float))
        or not (0.01 <= interval < math.inf)
    ):
        raise ValueError(
            f"{config.key(option)} must be a number of seconds, 0.01 or more (like 10),"
            f" got {interval!r}"
        )
    return float(interval)


def _history_samples(config: _Config, option: str) -> int:
    samples = config.value(option, 180)
    if isinstance(samples, bool) or not isinstance(samples, int) or not 0 <= samples <= MAX_SAMPLES:
        raise ValueError(
            f"{config.key(option)} must be a whole number from 0 (no history) to {MAX_SAMPLES},"
            f" got {samples!r}"
        )
    return samples
