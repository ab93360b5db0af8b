"""Log formats: the named ones, and format strings of Apache-style atoms compiled once."""

from __future__ import annotations

import json
import os
import re
import time
import typing as t
from datetime import datetime, timezone
from urllib.parse import quote

from .escaping import REDACTED, Redactor, escape_field, wire_text
from .fields import logged_fields

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from .entry import LogEntry
    from .fields import Value

COMMON = '%h %l %u %t "%r" %>s %b'
"""The Common Log Format."""
COMBINED = COMMON + ' "%{Referer}i" "%{User-Agent}i"'
"""The Combined Log Format: Common plus the referer and the user agent."""
NAMED_FORMATS = {
    "common": COMMON,
    "combined": COMBINED,
    # The id last, where log readers that know only Common and Combined ignore it.
    "common+id": COMMON + " %L",
    "combined+id": COMBINED + " %L",
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ATOM = re.compile(r"%(?:\{(?P<arg>[^{}%]*)\})?(?P<final>>?)(?P<code>[A-Za-z%]?)")

Formatter = t.Callable[["LogEntry"], str]
"""Turns one :class:`~flask_plug.reqlog.LogEntry` into one line, without the newline."""
_Atom = t.Callable[["LogEntry"], str]


class FormatError(ValueError):
    """A format string that cannot be compiled; the message names the atom."""


def compile_format(spec: str, redactor: Redactor, *, extra_fields: bool = False) -> Formatter:
    """The formatter for a named format (``"combined"``, ``"json"`` ...) or a format string.

    :param extra_fields: whether the app gives extra fields (``REQLOG_EXTRA_FIELDS``): JSON
        lines then carry them, and format strings may name them (``%{tenant}n``).
    :raises FormatError: naming the first atom that is not understood.
    """
    if spec == "json":
        return _JsonWithFieldsFormat(redactor) if extra_fields else _JsonFormat(redactor)
    return _LineFormat(NAMED_FORMATS.get(spec, spec), redactor, extra_fields=extra_fields)


class _LineFormat:
    def __init__(self, spec: str, redactor: Redactor, *, extra_fields: bool = False) -> None:
        self._redactor = redactor
        self._extra_fields = extra_fields
        self._fields_of: tuple[object, dict[str, Value] | None] = (None, None)
        self._clock_second = -1
        self._clock_text = ""
        self._parts: list[str | _Atom] = []
        position = 0
        for match in _ATOM.finditer(spec):
            if match.start() > position:
                self._parts.append(spec[position : match.start()])
            self._parts.append(self._atom(match))
            position = match.end()
        if position < len(spec):
            self._parts.append(spec[position:])
        if not any(callable(part) for part in self._parts):
            raise FormatError(f"{spec!r} has no atoms; see the list of format atoms")
        self._line = _join(self._parts)

    def __call__(self, entry: LogEntry) -> str:
        return self._line(entry)

    def _atom(self, match: re.Match[str]) -> str | _Atom:
        arg, final, code = match["arg"], match["final"], match["code"]
        text = match[0]
        if code == "" and arg is not None:
            raise FormatError(f"atom {text!r} needs a letter after the '}}', as in '%{{Referer}}i'")
        if code == "":
            start = match.start()
            snippet = match.string[start : start + 2]
            raise FormatError(f"{snippet!r} is not an atom; write '%%' for a percent sign")
        if arg == "":
            raise FormatError(f"atom {match[0]!r} has an empty '{{}}'")
        if final and code != "s":
            raise FormatError(f"unknown atom {text!r}: '>' only goes with '%>s'")
        if code in _ARG_ATOMS:
            if not arg:
                example = {"e": "REMOTE_PORT", "n": "user_id"}.get(code, "Referer")
                raise FormatError(f"atom {text!r} needs a name, as in '%{{{example}}}{code}'")
            if code == "n" and not self._extra_fields:
                raise FormatError(
                    f"atom {text!r} is an extra field: set REQLOG_EXTRA_FIELDS to a function "
                    "that returns it"
                )
            return _ARG_ATOMS[code](self, arg)
        if arg is not None and code != "T":
            raise FormatError(f"atom {text!r} takes no '{{...}}' argument")
        if code == "T":
            return _duration(arg or "s", text)
        if code == "%":
            return "%"
        if code == "t":
            return self._time
        if code in ("r", "q"):
            return self._request_line if code == "r" else self._query
        try:
            return _SIMPLE_ATOMS[code]
        except KeyError:
            known = " ".join(
                sorted(["%" + c for c in [*_SIMPLE_ATOMS, *_ARG_ATOMS, "t", "r", "q", "T", "%"]])
            )
            raise FormatError(f"unknown atom {text!r}; known atoms: {known}") from None

    def _time(self, entry: LogEntry) -> str:
        # Only the writer thread calls this, so a one-second cache needs no lock.
        second = int(entry.started)
        if second != self._clock_second:
            self._clock_text = clf_time(second)
            self._clock_second = second
        return self._clock_text

    def _request_line(self, entry: LogEntry) -> str:
        environ = entry.environ
        uri = self._redactor.url(raw_uri(environ))
        method = environ.get("REQUEST_METHOD", "-")
        return escape_field(f"{method} {uri} {environ.get('SERVER_PROTOCOL', '-')}")

    def _query(self, entry: LogEntry) -> str:
        query = entry.environ.get("QUERY_STRING")
        return escape_field("?" + self._redactor.query(query)) if query else ""

    def _request_header(self, name: str) -> _Atom:
        key = environ_key(name)
        if self._redactor.is_secret(name):
            return lambda entry: REDACTED if key in entry.environ else "-"
        if name.lower() == "referer":
            url = self._redactor.url
            return lambda entry: (
                escape_field(url(entry.environ[key])) if key in entry.environ else "-"
            )
        return lambda entry: escape_field(entry.environ[key]) if key in entry.environ else "-"

    def _environ(self, key: str) -> _Atom:
        upper = key.upper()
        if self._redactor.is_secret(key):  # HTTP_AUTHORIZATION, HTTP_X_API_KEY ...
            return lambda entry: REDACTED if key in entry.environ or upper in entry.environ else "-"

        def environ(entry: LogEntry) -> str:
            value = entry.environ.get(key, entry.environ.get(upper))
            if value is None:
                return "-"
            return escape_field(value if isinstance(value, str) else str(value))

        return environ

    def _extra_field(self, name: str) -> _Atom:
        def field(entry: LogEntry) -> str:
            value = self._fields(entry).get(name)
            if value is None:
                return "-"
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, str):
                # Text from the app: its UTF-8 bytes are escaped, as a client's would be.
                return escape_field(value if value.isascii() else value.encode().decode("latin-1"))
            return str(value)

        return field

    def _fields(self, entry: LogEntry) -> dict[str, Value]:
        # Only the writer thread formats, so remembering the last entry needs no lock; the
        # atoms of one line share the work.
        last, fields = self._fields_of
        if last is not entry:
            fields = logged_fields(entry.environ, self._redactor)
            self._fields_of = (entry, fields)
        return fields or {}

    def _response_header(self, name: str) -> _Atom:
        lowered = name.lower()
        secret = self._redactor.is_secret(name)
        # A redirect's target may carry a token in its query, as a referer may.
        redact = self._redactor.url if lowered in ("location", "content-location") else str

        def header(entry: LogEntry) -> str:
            values = [value for key, value in entry.headers if key.lower() == lowered]
            if not values:
                return "-"
            return REDACTED if secret else escape_field(redact(", ".join(values)))

        return header


def _join(parts: list[str | _Atom]) -> _Atom:
    """One function that calls the atoms and joins them with the literal text between.

    Generated, because it pays: ``benchmarks/instructions.py reqlog:0`` (Combined lines,
    Python 3.13, callgrind) counted 455,977 instructions a request with this function
    and 469,336 with ``"".join([p if isinstance(p, str) else p(entry) for p in parts])``:
    13,359 more, 15% of the request log's own cost (+88,198 over bare Flask's 367,779);
    a ``%`` template filled with the atoms' results, 4,516 more (5%).
    Literal text enters the source only through ``repr()``.
    """
    atoms: dict[str, _Atom] = {}
    terms = []
    for index, part in enumerate(parts):
        if isinstance(part, str):
            terms.append(repr(part))
        else:
            atoms[f"atom{index}"] = part
            terms.append(f"atom{index}(entry)")
    namespace: dict[str, t.Any] = dict(atoms)
    exec(f"def line(entry):\n    return ''.join(({', '.join(terms)},))", namespace)
    return t.cast(_Atom, namespace["line"])


def clf_time(second: int) -> str:
    """``[25/Nov/2026:05:40:42 +0100]`` in local time, English month names in any locale."""
    tm = time.localtime(second)
    offset = (tm.tm_gmtoff or 0) // 60
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return (
        f"[{tm.tm_mday:02d}/{_MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:"
        f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {sign}{hours:02d}{minutes:02d}]"
    )


def environ_key(header: str) -> str:
    """The WSGI environ key that holds a request header."""
    key = header.upper().replace("-", "_")
    return key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key


def raw_uri(environ: WSGIEnvironment) -> str:
    """The request target as the client sent it, percent-encoding and query included."""
    uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if uri:
        return uri  # type: ignore[no-any-return]
    path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), "/", "latin-1")
    query = environ.get("QUERY_STRING")
    return f"{path}?{query}" if query else path


def _status(entry: LogEntry) -> str:
    return entry.status[:3]


def _environ_atom(key: str, *, quoted: bool = True) -> _Atom:
    return lambda entry: escape_field(entry.environ.get(key) or "-", quoted=quoted)


def _path(entry: LogEntry) -> str:
    environ = entry.environ
    return escape_field(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")) or "/"


def _duration(unit: str, text: str) -> _Atom:
    if unit == "s":
        return lambda entry: f"{entry.duration_ns / 1e9:.6f}"
    if unit == "ms":
        return lambda entry: f"{entry.duration_ns / 1e6:.3f}"
    if unit == "us":
        return lambda entry: str(entry.duration_ns // 1000)
    raise FormatError(f"atom {text!r}: the unit must be s, ms or us")


_SIMPLE_ATOMS: dict[str, _Atom] = {
    "h": _environ_atom("REMOTE_ADDR", quoted=False),
    "l": lambda entry: "-",
    "u": _environ_atom("REMOTE_USER", quoted=False),
    "m": _environ_atom("REQUEST_METHOD"),
    "U": _path,
    "H": _environ_atom("SERVER_PROTOCOL"),
    "s": _status,
    "b": lambda entry: str(entry.bytes_sent) if entry.bytes_sent else "-",
    "B": lambda entry: str(entry.bytes_sent),
    "D": lambda entry: str(entry.duration_ns // 1000),
    "L": lambda entry: entry.request_id,
    # The writer thread runs in the process that served the request (each gunicorn worker).
    "P": lambda entry: str(os.getpid()),
}
_ARG_ATOMS: dict[str, t.Callable[[_LineFormat, str], _Atom]] = {
    "i": _LineFormat._request_header,
    "o": _LineFormat._response_header,
    "e": _LineFormat._environ,
    "n": _LineFormat._extra_field,
}


class _JsonFormat:
    """One JSON object per line; always valid JSON, non-ASCII escaped as ``\\uXXXX``."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    def __call__(self, entry: LogEntry) -> str:
        return json.dumps(self._record(entry), separators=(",", ":"))

    def _record(self, entry: LogEntry) -> dict[str, t.Any]:
        environ = entry.environ
        query = environ.get("QUERY_STRING")
        referer = environ.get("HTTP_REFERER")
        user_agent = environ.get("HTTP_USER_AGENT")
        user = environ.get("REMOTE_USER")
        record = {
            "time": datetime.fromtimestamp(entry.started, timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "request_id": entry.request_id,
            "remote_addr": environ.get("REMOTE_ADDR"),
            "user": wire_text(user) if user else None,
            "method": wire_text(environ.get("REQUEST_METHOD", "")),
            "path": wire_text(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")),
            "query": wire_text(self._redactor.query(query)) if query else None,
            "protocol": environ.get("SERVER_PROTOCOL"),
            "status": int(entry.status[:3]),
            "bytes": entry.bytes_sent,
            "duration_ms": round(entry.duration_ns / 1e6, 3),
            "referer": wire_text(self._redactor.url(referer)) if referer else None,
            "user_agent": wire_text(user_agent) if user_agent else None,
        }
        return record


class _JsonWithFieldsFormat(_JsonFormat):
    """JSON lines with the app's extra fields after the standard keys, which win a clash."""

    def __call__(self, entry: LogEntry) -> str:
        record = self._record(entry)
        for name, value in (logged_fields(entry.environ, self._redactor) or {}).items():
            record.setdefault(name, value)
        return json.dumps(record, separators=(",", ":"))
