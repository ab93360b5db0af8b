"""The timer's options: keyword, then ``TIMER_*`` config key, then default; validated once."""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

from .headers import check_origin, check_token

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from flask import Flask


class TimerOptions(t.TypedDict, total=False):
    """Keyword options of :class:`Timer`; each is also a ``TIMER_*`` config key."""

    spans: bool | None
    log: bool | None
    log_level: str | int | None
    response_time_header: bool | None
    timing_allow_origin: str | Iterable[str] | None
    metric_name: str | None
    sqlalchemy: bool | None
    otel: bool | None


@dataclass(frozen=True)
class TimerSettings:
    """The resolved options of one app, kept in ``app.extensions["flask-plug-timer"]``."""

    spans: bool
    """Send named spans in ``Server-Timing`` (``TIMER_SPANS``)."""
    log: bool
    """Log one line per request (``TIMER_LOG``)."""
    log_level: int
    """The level of that line (``TIMER_LOG_LEVEL``).

    .. versionadded:: 0.2
    """
    response_time_header: bool
    """Send ``X-Response-Time`` (``TIMER_RESPONSE_TIME_HEADER``)."""
    timing_allow_origin: tuple[str, ...]
    """Origins sent in ``Timing-Allow-Origin``; empty sends none (``TIMER_TIMING_ALLOW_ORIGIN``)."""
    metric_name: str
    """Name of the total metric (``TIMER_METRIC_NAME``)."""
    sqlalchemy: bool
    """Add database time and query count from SQLAlchemy as a ``db`` metric
    (``TIMER_SQLALCHEMY``).

    .. versionadded:: 0.2
    """
    otel: bool
    """Mirror every span as an OpenTelemetry span (``TIMER_OTEL``).

    .. versionadded:: 0.2
    """


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


def resolve(app: Flask, options: Mapping[str, t.Any]) -> TimerSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises TypeError: for an unknown keyword option.
    :raises ValueError: naming the config key and what it expects, for any bad value.
    """
    config = _Config(app, options, TimerOptions, "TIMER_", "Timer")
    return TimerSettings(
        spans=config.flag("spans", app.debug),
        log=config.flag("log", app.debug),
        log_level=_level(config, "log_level"),
        response_time_header=config.flag("response_time_header", False),
        timing_allow_origin=_origins(config, "timing_allow_origin"),
        metric_name=check_token(config.value("metric_name", "app"), config.key("metric_name")),
        sqlalchemy=config.flag("sqlalchemy", False),
        otel=config.flag("otel", False),
    )


def _level(config: _Config, option: str) -> int:
    value = config.value(option, "INFO")
    # A name logging knows (getLevelName maps it to its number), or a number.
    level = logging.getLevelName(value.upper()) if isinstance(value, str) else value
    if isinstance(level, bool) or not isinstance(level, int) or level <= 0:
        raise ValueError(
            f"{config.key(option)} must be a logging level such as 'INFO' or logging.DEBUG,"
            f" got {value!r}"
        )
    return level


def _origins(config: _Config, option: str) -> tuple[str, ...]:
    key = config.key(option)
    value = config.value(option, ())
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(f"{key} must be '*', an origin or a list of origins, got {value!r}")
    if "*" in value:
        if len(value) > 1:
            raise ValueError(f"{key}: '*' already allows every origin; list no others with it")
        return ("*",)
    return tuple(sorted({check_origin(origin, key) for origin in value}))
