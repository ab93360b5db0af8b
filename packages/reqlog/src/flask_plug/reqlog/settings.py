"""The request log's options: keyword, then ``REQLOG_*`` config key, then default."""

from __future__ import annotations

import logging
import os
import re
import typing as t
from dataclasses import dataclass

from .escaping import DEFAULT_REDACT, Redactor
from .formats import NAMED_FORMATS, FormatError, Formatter, compile_format

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from flask import Flask

    from .fields import ExtraFields

DEFAULT_QUEUE_SIZE = 10_000
"""About a second of a busy app's requests, a few KB each (an entry holds the environ)."""
DEFAULT_FLUSH_INTERVAL = 0.1
"""A few writes a second however busy the app; what a ``SIGKILL`` may cost."""
MAX_FLUSH_INTERVAL = 60
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
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
    request_id_from: Iterable[str] | None
    redact: Iterable[str] | None
    extra_fields: ExtraFields | None
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
    request_id_from: tuple[str, ...]
    """The headers an incoming id is read from, first valid one wins; empty when incoming
    ids are not trusted (``REQLOG_REQUEST_ID_FROM``).

    .. versionadded:: 0.2
    """
    redactor: Redactor
    """Which query parameters and headers are secret (``REQLOG_REDACT`` adds names)."""
    extra_fields: ExtraFields | None
    """The app's function giving each line extra fields (``REQLOG_EXTRA_FIELDS``).

    .. versionadded:: 0.2
    """
    skip_paths: frozenset[str]
    """Paths whose successful requests are not logged (``REQLOG_SKIP_PATHS``)."""
    skip_prefixes: tuple[str, ...]
    """Path prefixes, from ``REQLOG_SKIP_PATHS`` entries ending in ``*``."""
    sample: float
    """The share of successful requests logged (``REQLOG_SAMPLE``)."""
    queue_size: int
    """Requests waiting for the writer thread at most; more are dropped and counted
    (``REQLOG_QUEUE_SIZE``).

    .. versionadded:: 0.2
    """
    flush_interval: float
    """Seconds the writer gathers lines before writing them, at most
    (``REQLOG_FLUSH_INTERVAL``).

    .. versionadded:: 0.2
    """
    formatter: Formatter
    """The compiled format."""


def resolve(app: Flask, options: Mapping[str, t.Any]) -> RequestLogSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises TypeError: for an unknown keyword option.
    :raises ValueError: naming the config key and what it expects, for any bad value.
    """
    config = _Config(app, options, RequestLogOptions, "REQLOG_", "RequestLog")
    trust_request_id = config.flag("trust_request_id", True)
    request_id_header = _header_name(config, "request_id_header")
    request_id_from = _request_id_from(
        config, "request_id_from", request_id_header, trust_request_id
    )
    redactor = Redactor(DEFAULT_REDACT + _names(config, "redact"))
    extra_fields = _extra_fields(config, "extra_fields")
    spec = _format(config, "format")
    formatter = _formatter(spec, redactor, extra_fields is not None)
    output = _output(config, "output")
    max_bytes = _max_bytes(config, "max_bytes")
    rotate_when = _rotate_when(config, "rotate_when")
    _check_rotation(output, max_bytes, rotate_when)
    skip = _skip_paths(config, "skip_paths")
    return RequestLogSettings(
        format=spec,
        output=output,
        max_bytes=max_bytes,
        rotate_when=rotate_when,
        backup_count=_whole_number(config, "backup_count", 7),
        request_id_header=request_id_header,
        trust_request_id=trust_request_id,
        request_id_from=request_id_from,
        redactor=redactor,
        extra_fields=extra_fields,
        skip_paths=frozenset(path for path in skip if not path.endswith("*")),
        skip_prefixes=tuple(path[:-1] for path in skip if path.endswith("*")),
        sample=_sample(config, "sample"),
        queue_size=_whole_number(config, "queue_size", DEFAULT_QUEUE_SIZE),
        flush_interval=_flush_interval(config, "flush_interval"),
        formatter=formatter,
    )


def check_options(options: Mapping[str, t.Any]) -> None:
    """Refuse unknown keyword options as soon as they are given, before any app is.

    :raises TypeError: naming them, as :func:`resolve` does.
    """
    _Config.check(options, RequestLogOptions, "RequestLog")


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


def _header_name(config: _Config, option: str) -> str:
    header = config.value(option, "X-Request-ID")
    if not isinstance(header, str) or not _TOKEN.fullmatch(header):
        raise ValueError(f"{config.key(option)} must be a header name, got {header!r}")
    return header


def _request_id_from(
    config: _Config, option: str, request_id_header: str, trust: bool
) -> tuple[str, ...]:
    """Header names in the order given, without duplicates; ``request_id_header`` alone
    by default, and none if incoming ids are not trusted."""
    value = config.value(option, None)
    if value is None:
        return (request_id_header,) if trust else ()
    expected = "a list of header names, such as ['X-Request-ID', 'traceparent']"
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{config.key(option)} must be {expected}, got {value!r}")
    for header in value:
        if not isinstance(header, str) or not _TOKEN.fullmatch(header):
            raise ValueError(f"{config.key(option)} must be {expected}, got {header!r} in it")
    if not trust:
        raise ValueError(
            f"{config.key(option)} names headers to read request ids from, but "
            f"{config.key('trust_request_id')} is False: incoming ids are never read. "
            "Remove one of the two."
        )
    lowered = [header.lower() for header in value]
    return tuple(header for i, header in enumerate(value) if header.lower() not in lowered[:i])


def _extra_fields(config: _Config, option: str) -> ExtraFields | None:
    value = config.value(option, None)
    if value is not None and not callable(value):
        raise ValueError(
            f"{config.key(option)} must be a function that returns a dict of fields, "
            f"such as lambda: {{'user_id': g.get('user_id')}}, got {value!r}"
        )
    return t.cast("ExtraFields | None", value)


def _names(config: _Config, option: str, *, lower: bool = True) -> tuple[str, ...]:
    """A list of non-empty strings, sorted, without duplicates (lower-cased if ``lower``)."""
    value = config.value(option, ())
    if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ValueError(f"{config.key(option)} must be a list of strings, got {value!r}")
    for name in value:
        if not isinstance(name, str) or not name:
            raise ValueError(f"{config.key(option)} must be a list of strings, got {name!r} in it")
    return tuple(sorted({name.lower() if lower else name for name in value}))


def _format(config: _Config, option: str) -> str:
    spec = config.value(option, "combined")
    if not isinstance(spec, str):
        names = ", ".join(repr(name) for name in [*NAMED_FORMATS, "json"])
        raise ValueError(f"{config.key(option)} must be {names} or a format string, got {spec!r}")
    return spec


def _formatter(spec: str, redactor: Redactor, extra_fields: bool) -> Formatter:
    try:
        return compile_format(spec, redactor, extra_fields=extra_fields)
    except FormatError as error:
        raise ValueError(f"REQLOG_FORMAT: {error}") from None


def _output(config: _Config, option: str) -> str | logging.Logger:
    value = config.value(option, "stdout")
    if isinstance(value, logging.Logger):
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str) or not value:
        raise ValueError(
            f"{config.key(option)} must be 'stdout', 'stderr', 'logger:<name>', "
            f"a logging.Logger or a file path, got {value!r}"
        )
    if value in _STANDARD_STREAMS:
        return _STANDARD_STREAMS[value]
    if value.startswith("logger:"):
        name = value.removeprefix("logger:")
        if not name:
            raise ValueError(
                f"{config.key(option)}: 'logger:' needs a logger name, as in 'logger:access'"
            )
        return logging.getLogger(name)
    # Relative files live in the instance folder, as Flask's other writable files do.
    return os.path.join(config.app.instance_path, os.path.expanduser(value))


def _whole_number(config: _Config, option: str, default: int) -> int:
    value = config.value(option, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{config.key(option)} must be a whole number >= 1, got {value!r}")
    return value


def _max_bytes(config: _Config, option: str) -> int | None:
    """Unset means no rotation by size."""
    if config.value(option, None) is None:
        return None
    return _whole_number(config, option, 1)


def _rotate_when(config: _Config, option: str) -> str | None:
    """Unset means no rotation on a schedule; the schedule is returned upper-cased."""
    value = config.value(option, None)
    if value is None:
        return None
    if not isinstance(value, str) or value.upper() not in _ROTATE_WHEN:
        raise ValueError(
            f"{config.key(option)} must be one of {', '.join(_ROTATE_WHEN)} "
            f"(case does not matter), got {value!r}"
        )
    return value.upper()


def _check_rotation(
    output: str | logging.Logger, max_bytes: int | None, rotate_when: str | None
) -> None:
    if max_bytes is not None and rotate_when is not None:
        raise ValueError("REQLOG_MAX_BYTES and REQLOG_ROTATE_WHEN: choose size or time rotation")
    if (max_bytes is not None or rotate_when is not None) and not _is_file(output):
        raise ValueError("REQLOG_MAX_BYTES and REQLOG_ROTATE_WHEN need REQLOG_OUTPUT to be a file")


def _is_file(output: str | logging.Logger) -> bool:
    return isinstance(output, str) and output not in _STANDARD_STREAMS.values()


def _skip_paths(config: _Config, option: str) -> tuple[str, ...]:
    paths = _names(config, option, lower=False)
    for path in paths:
        if not path.startswith("/"):
            raise ValueError(f"{config.key(option)}: {path!r} is not a path; paths start with '/'")
    return paths


def _sample(config: _Config, option: str) -> float:
    value = config.value(option, 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(
            f"{config.key(option)} must be a number above 0 and at most 1, got {value!r}"
        )
    return float(value)


def _flush_interval(config: _Config, option: str) -> float:
    value = config.value(option, DEFAULT_FLUSH_INTERVAL)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 <= value <= MAX_FLUSH_INTERVAL
    ):
        raise ValueError(
            f"{config.key(option)} must be a number of seconds from 0 to {MAX_FLUSH_INTERVAL}, "
            f"got {value!r}"
        )
    return float(value)
