"""The request log's options: keyword, then ``REQLOG_*`` config key, then default."""

from __future__ import annotations

import logging
import os
import re
import typing as t
from dataclasses import dataclass

from .escaping import DEFAULT_REDACT, Redactor
from .formats import FormatError, Formatter, compile_format

if t.TYPE_CHECKING:
    from collections.abc import Iterable

    from flask import Flask

DEFAULT_QUEUE_SIZE = 10_000
"""About a second of a busy app's requests, a few KB each (an entry holds the environ)."""
DEFAULT_FLUSH_INTERVAL = 0.1
"""A few writes a second however busy the app; what a ``SIGKILL`` may cost."""
MAX_FLUSH_INTERVAL = 60
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ROTATE_WHEN = ("S", "M", "H", "D", "MIDNIGHT", *(f"W{day}" for day in range(7)))
_STANDARD_STREAMS = {"-": "stdout", "stdout": "stdout", "stderr": "stderr"}


class RequestLogOptions(t.TypedDict, total=False):
    """Keyword options of :class:`~flask_plug.reqlog.RequestLog`; each is also a
    ``REQLOG_*`` config key."""

    format: str | None
    output: str | os.PathLike[str] | logging.Logger | None
    max_bytes: int | None
    rotate_when: str | None
    backup_count: int | None
    request_id_header: str | None
    trust_request_id: bool | None
    redact: Iterable[str] | None
    skip_paths: Iterable[str] | None
    sample: float | None
    queue_size: int | None
    flush_interval: float | None


@dataclass(frozen=True)
class RequestLogSettings:
    """The resolved options of one app."""

    format: str
    """``"common"``, ``"combined"``, ``"json"`` or a format string (``REQLOG_FORMAT``)."""
    output: str | logging.Logger
    """``"stdout"``, ``"stderr"``, an absolute file path, or a logger (``REQLOG_OUTPUT``)."""
    max_bytes: int | None
    """Rotate the file when it would grow past this size (``REQLOG_MAX_BYTES``)."""
    rotate_when: str | None
    """Rotate the file on this schedule, as ``TimedRotatingFileHandler`` reads it
    (``REQLOG_ROTATE_WHEN``)."""
    backup_count: int
    """Rotated files kept (``REQLOG_BACKUP_COUNT``)."""
    request_id_header: str
    """The header a request id is read from and echoed in (``REQLOG_REQUEST_ID_HEADER``)."""
    trust_request_id: bool
    """Keep a safe incoming request id rather than always making one
    (``REQLOG_TRUST_REQUEST_ID``)."""
    redactor: Redactor
    """Which query parameters and headers are secret (``REQLOG_REDACT`` adds names)."""
    skip_paths: frozenset[str]
    """Paths whose successful requests are not logged (``REQLOG_SKIP_PATHS``)."""
    skip_prefixes: tuple[str, ...]
    """Path prefixes, from ``REQLOG_SKIP_PATHS`` entries ending in ``*``."""
    sample: float
    """The share of successful requests logged (``REQLOG_SAMPLE``)."""
    queue_size: int
    """Requests waiting for the writer thread at most; more are dropped and counted
    (``REQLOG_QUEUE_SIZE``)."""
    flush_interval: float
    """Seconds the writer gathers lines before writing them, at most
    (``REQLOG_FLUSH_INTERVAL``)."""
    formatter: Formatter
    """The compiled format."""


def _key(option: str) -> str:
    return f"REQLOG_{option.upper()}"


def resolve(app: Flask, options: dict[str, t.Any]) -> RequestLogSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises ValueError: naming the config key and what it expects, for any bad value.
    """
    unknown = set(options) - set(RequestLogOptions.__annotations__)
    if unknown:
        raise TypeError(f"unknown RequestLog option(s): {', '.join(sorted(unknown))}")

    def pick(option: str, default: t.Any) -> t.Any:
        value = options.get(option)
        if value is None:
            value = app.config.get(_key(option))
        return default if value is None else value

    def integer(option: str, default: int | None, minimum: int) -> int | None:
        value = pick(option, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{_key(option)} must be a whole number >= {minimum}, got {value!r}")
        return value

    trust = pick("trust_request_id", True)
    if not isinstance(trust, bool):
        raise ValueError(f"REQLOG_TRUST_REQUEST_ID must be True or False, got {trust!r}")

    header = pick("request_id_header", "X-Request-ID")
    if not isinstance(header, str) or not _TOKEN.fullmatch(header):
        raise ValueError(f"REQLOG_REQUEST_ID_HEADER must be a header name, got {header!r}")

    redactor = Redactor(DEFAULT_REDACT + _names("redact", pick("redact", ())))
    spec = pick("format", "combined")
    if not isinstance(spec, str):
        raise ValueError(
            f"REQLOG_FORMAT must be 'common', 'combined', 'json' or a format string, got {spec!r}"
        )
    try:
        formatter = compile_format(spec, redactor)
    except FormatError as error:
        raise ValueError(f"REQLOG_FORMAT: {error}") from None

    output = _output(app, pick("output", "stdout"))
    max_bytes = integer("max_bytes", None, 1)
    rotate_when = pick("rotate_when", None)
    if rotate_when is not None:
        if not isinstance(rotate_when, str) or rotate_when.upper() not in _ROTATE_WHEN:
            raise ValueError(
                f"REQLOG_ROTATE_WHEN must be one of {', '.join(_ROTATE_WHEN)} "
                f"(case does not matter), got {rotate_when!r}"
            )
        rotate_when = rotate_when.upper()
    if max_bytes is not None and rotate_when is not None:
        raise ValueError("REQLOG_MAX_BYTES and REQLOG_ROTATE_WHEN: choose size or time rotation")
    if (max_bytes is not None or rotate_when is not None) and not _is_file(output):
        raise ValueError("REQLOG_MAX_BYTES and REQLOG_ROTATE_WHEN need REQLOG_OUTPUT to be a file")

    skip = _names("skip_paths", pick("skip_paths", ()), lower=False)
    for path in skip:
        if not path.startswith("/"):
            raise ValueError(f"REQLOG_SKIP_PATHS: {path!r} is not a path; paths start with '/'")

    sample = pick("sample", 1.0)
    if isinstance(sample, bool) or not isinstance(sample, (int, float)) or not 0 < sample <= 1:
        raise ValueError(f"REQLOG_SAMPLE must be a number above 0 and at most 1, got {sample!r}")

    interval = pick("flush_interval", DEFAULT_FLUSH_INTERVAL)
    if (
        isinstance(interval, bool)
        or not isinstance(interval, (int, float))
        or not 0 <= interval <= MAX_FLUSH_INTERVAL
    ):
        raise ValueError(
            f"REQLOG_FLUSH_INTERVAL must be a number of seconds from 0 to {MAX_FLUSH_INTERVAL}, "
            f"got {interval!r}"
        )

    return RequestLogSettings(
        format=spec,
        output=output,
        max_bytes=max_bytes,
        rotate_when=rotate_when,
        backup_count=t.cast(int, integer("backup_count", 7, 1)),
        request_id_header=header,
        trust_request_id=trust,
        redactor=redactor,
        skip_paths=frozenset(path for path in skip if not path.endswith("*")),
        skip_prefixes=tuple(path[:-1] for path in skip if path.endswith("*")),
        sample=float(sample),
        queue_size=t.cast(int, integer("queue_size", DEFAULT_QUEUE_SIZE, 1)),
        flush_interval=float(interval),
        formatter=formatter,
    )


def _names(option: str, value: t.Any, *, lower: bool = True) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(f"{_key(option)} must be a list of strings, got {value!r}")
    for name in value:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{_key(option)} must be a list of strings, got {name!r} in it")
    return tuple(sorted({name.lower() if lower else name for name in value}))


def _output(app: Flask, value: t.Any) -> str | logging.Logger:
    if isinstance(value, logging.Logger):
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ValueError(
            "REQLOG_OUTPUT must be 'stdout', 'stderr', 'logger:<name>', a logging.Logger "
            f"or a file path, got {value!r}"
        )
    if value in _STANDARD_STREAMS:
        return _STANDARD_STREAMS[value]
    if value.startswith("logger:"):
        name = value.removeprefix("logger:")
        if not name:
            raise ValueError("REQLOG_OUTPUT: 'logger:' needs a logger name, as in 'logger:access'")
        return logging.getLogger(name)
    # Relative files live in the instance folder, as Flask's other writable files do.
    return os.path.join(app.instance_path, os.path.expanduser(value))


def _is_file(output: str | logging.Logger) -> bool:
    return isinstance(output, str) and output not in _STANDARD_STREAMS.values()
