"""The timer's options: keyword, then ``TIMER_*`` config key, then default; validated once."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from .headers import check_origin, check_token

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from flask import Flask


class TimerOptions(t.TypedDict, total=False):
    """Keyword options of :class:`Timer`; each is also a ``TIMER_*`` config key."""

    spans: bool | None
    log: bool | None
    response_time_header: bool | None
    timing_allow_origin: str | Iterable[str] | None
    metric_name: str | None


@dataclass(frozen=True)
class TimerSettings:
    """The resolved options of one app, kept in ``app.extensions["flask-plug-timer"]``."""

    spans: bool
    """Send named spans in ``Server-Timing`` (``TIMER_SPANS``)."""
    log: bool
    """Log one debug line per request (``TIMER_LOG``)."""
    response_time_header: bool
    """Send ``X-Response-Time`` (``TIMER_RESPONSE_TIME_HEADER``)."""
    timing_allow_origin: tuple[str, ...]
    """Origins sent in ``Timing-Allow-Origin``; empty sends none (``TIMER_TIMING_ALLOW_ORIGIN``)."""
    metric_name: str
    """Name of the total metric (``TIMER_METRIC_NAME``)."""


def _key(option: str) -> str:
    return f"TIMER_{option.upper()}"


def resolve(app: Flask, options: dict[str, t.Any]) -> TimerSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises ValueError: naming the config key and what it expects, for any bad value.
    """

    unknown = set(options) - set(TimerOptions.__annotations__)
    if unknown:
        raise TypeError(f"unknown Timer option(s): {', '.join(sorted(unknown))}")

    def pick(option: str, default: t.Any) -> t.Any:
        value = options.get(option)
        if value is None:
            value = app.config.get(_key(option))
        return default if value is None else value

    def flag(option: str, default: bool) -> bool:
        value = pick(option, default)
        if not isinstance(value, bool):
            raise ValueError(f"{_key(option)} must be True or False, got {value!r}")
        return value

    return TimerSettings(
        spans=flag("spans", app.debug),
        log=flag("log", app.debug),
        response_time_header=flag("response_time_header", False),
        timing_allow_origin=_origins(pick("timing_allow_origin", ())),
        metric_name=check_token(pick("metric_name", "app"), _key("metric_name")),
    )


def _origins(value: t.Any) -> tuple[str, ...]:
    key = _key("timing_allow_origin")
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(f"{key} must be '*', an origin or a list of origins, got {value!r}")
    if "*" in value:
        if len(value) > 1:
            raise ValueError(f"{key}: '*' already allows every origin; list no others with it")
        return ("*",)
    return tuple(sorted({check_origin(origin, key) for origin in value}))
