"""The stats options: keyword, then ``STATS_*`` config key, then default; validated once."""

from __future__ import annotations

import math
import re
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass

from .access import Credentials
from .labels import METRIC_NAME, RESERVED_LABELS, label_name_error
from .metrics import DEFAULT_BUCKETS

if t.TYPE_CHECKING:
    from flask import Flask

AccessCheck = t.Callable[[], bool]
VIEWS = ("json", "dashboard", "metrics")
"""The views that may each have an access rule of their own."""
_BEARER_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*", re.ASCII)  # RFC 6750's b64token
# A week of one-minute samples; far more is a typo, and would cost memory in every worker.
MAX_SAMPLES = 10_080


class StatsOptions(t.TypedDict, total=False):
    """Keyword options of :class:`Stats`; each is also a ``STATS_*`` config key."""

    url_prefix: str
    exclude_static: bool
    buckets: t.Sequence[float]
    metric_prefix: str
    access: AccessCheck
    json_access: AccessCheck
    dashboard_access: AccessCheck
    metrics_access: AccessCheck
    metrics_path: str | t.Literal[False]
    metrics_username: str
    metrics_password: str
    metrics_bearer_token: str
    default_labels: Mapping[str, str]
    max_label_sets: int
    process_metrics: bool
    created_metrics: bool
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
    view_access: Mapping[str, AccessCheck]
    """The rules given for one view each: ``"json"``, ``"dashboard"``, ``"metrics"``
    (``STATS_JSON_ACCESS``, ``STATS_DASHBOARD_ACCESS``, ``STATS_METRICS_ACCESS``)."""
    metrics_path: str | None
    """Where the Prometheus view is, or ``None`` for nowhere (``STATS_METRICS_PATH``)."""
    metrics_credentials: Credentials | None
    """What a scraper must send, if anything (``STATS_METRICS_USERNAME``,
    ``STATS_METRICS_PASSWORD``, ``STATS_METRICS_BEARER_TOKEN``)."""
    default_labels: Mapping[str, str]
    """Labels added to every exported series (``STATS_DEFAULT_LABELS``)."""
    max_label_sets: int
    """Label sets a custom metric may have before new ones count as ``other``
    (``STATS_MAX_LABEL_SETS``)."""
    process_metrics: bool
    """Export process, platform and GC metrics (``STATS_PROCESS_METRICS``)."""
    created_metrics: bool
    """Export the ``*_created`` series (``STATS_CREATED_METRICS``)."""
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
    url_prefix = _url_prefix(config, "url_prefix")
    return StatsSettings(
        url_prefix=url_prefix,
        exclude_static=config.flag("exclude_static", True),
        buckets=_buckets(config, "buckets"),
        access=_access(config, "access"),
        metric_prefix=_metric_prefix(config, "metric_prefix"),
        view_access={
            view: check
            for view in VIEWS
            if (check := _access(config, f"{view}_access")) is not None
        },
        metrics_path=_metrics_path(config, "metrics_path", url_prefix),
        metrics_credentials=_credentials(config),
        default_labels=_default_labels(config, "default_labels"),
        max_label_sets=_max_label_sets(config, "max_label_sets"),
        process_metrics=config.flag("process_metrics", True),
        created_metrics=config.flag("created_metrics", False),
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
    if not isinstance(prefix, str) or METRIC_NAME.fullmatch(prefix) is None:
        raise ValueError(
            f"{config.key(option)} must be a Prometheus metric name: ASCII letters, digits, _"
            f" and :, not starting with a digit (like 'flask_http'), got {prefix!r}"
        )
    return prefix


def _metrics_path(config: _Config, option: str, url_prefix: str) -> str | None:
    default = f"{url_prefix}/metrics"
    path = config.value(option, default)
    if path is False:
        return None
    if (
        not isinstance(path, str)
        or not path.startswith("/")
        or path.endswith("/")
        or any(c.isspace() or c in "<>?#" for c in path)
        or (path != default and (path == url_prefix or path.startswith(f"{url_prefix}/")))
    ):
        raise ValueError(
            f"{config.key(option)} must be a path like '/metrics' outside"
            f" {config.key('url_prefix')} ({url_prefix!r}), or False for no metrics view in"
            f" the app, got {path!r}"
        )
    return path


def _credentials(config: _Config) -> Credentials | None:
    username = config.value("metrics_username", None)
    password = config.value("metrics_password", None)
    token = config.value("metrics_bearer_token", None)
    user_key, password_key = config.key("metrics_username"), config.key("metrics_password")
    if (username is None) != (password is None):
        raise ValueError(f"set both {user_key} and {password_key}, or neither")
    if username is not None and (
        not isinstance(username, str)
        or not username
        or ":" in username
        or not username.isprintable()
    ):
        raise ValueError(
            f"{user_key} must be a non-empty text without ':' or control characters"
            f" (RFC 7617), got {username!r}"
        )
    if password is not None and (
        not isinstance(password, str) or not password or not password.isprintable()
    ):
        # The value is a secret: the message does not repeat it.
        raise ValueError(f"{password_key} must be a non-empty text without control characters")
    if token is not None and (not isinstance(token, str) or _BEARER_TOKEN.fullmatch(token) is None):
        raise ValueError(
            f"{config.key('metrics_bearer_token')} must be a token of RFC 6750's syntax:"
            " ASCII letters, digits and -._~+/, then any '=' (like the output of"
            " secrets.token_urlsafe())"
        )
    basic = None if username is None or password is None else (username, password)
    if basic is None and token is None:
        return None
    return Credentials(basic=basic, bearer_token=token)


def _default_labels(config: _Config, option: str) -> Mapping[str, str]:
    labels = config.value(option, {})
    key = config.key(option)
    if not isinstance(labels, Mapping):
        raise ValueError(f"{key} must be a dict of label names to texts, got {labels!r}")
    for name, value in labels.items():
        error = label_name_error(name)
        if error is None and name in RESERVED_LABELS:
            error = "is a label of the request metrics, or of histograms and summaries"
        if error is not None:
            raise ValueError(f"{key}: {name!r} {error}")
        if not isinstance(value, str):
            raise ValueError(f"{key}: the value of {name!r} must be a text, got {value!r}")
    return dict(labels)


def _max_label_sets(config: _Config, option: str) -> int:
    limit = config.value(option, 100)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ValueError(f"{config.key(option)} must be a whole number 1-10000, got {limit!r}")
    return limit


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
