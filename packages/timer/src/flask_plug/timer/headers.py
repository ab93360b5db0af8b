"""Serialisation of the ``Server-Timing`` header (W3C Server Timing, RFC 9110 syntax)."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Bytes a quoted-string cannot carry at all, even escaped: controls other than HTAB, and DEL.
_FORBIDDEN_IN_QUOTED = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_BEYOND_LATIN1 = re.compile(r"[^\x00-\xff]")
_NEEDS_ESCAPE = re.compile(r'(["\\])')
_ORIGIN = re.compile(r"https?://[^\s/?#,]+", re.IGNORECASE)


def check_token(value: object, what: str) -> str:
    """Return ``value`` if it is an HTTP token (RFC 9110 ``token``), else raise.

    :param value: the candidate metric name.
    :param what: how the error message names the value, e.g. ``"span name"``.
    :raises ValueError: if ``value`` is not a non-empty token.
    """
    if not isinstance(value, str) or _TOKEN.fullmatch(value) is None:
        raise ValueError(
            f"{what} {value!r} is not an HTTP token: use letters, digits and"
            " !#$%&'*+-.^_`|~ only (no spaces, commas, semicolons or quotes)"
        )
    return value


def quote(text: str, what: str = "desc") -> str:
    """Encode ``text`` as an HTTP quoted-string ready for a WSGI header value.

    ``"`` and ``\\`` are escaped with a backslash. Browsers decode header bytes as
    Latin-1 (the Fetch standard's "isomorphic decode"), so each character up to U+00FF
    travels as one byte and reads back unchanged; nothing beyond U+00FF can.

    :raises ValueError: if ``text`` holds a control character other than tab, or a
        character beyond U+00FF.
    """
    bad = _FORBIDDEN_IN_QUOTED.search(text)
    if bad is not None:
        raise ValueError(
            f"{what} {text!r} contains the control character {bad.group()!r},"
            " which cannot be sent in an HTTP header"
        )
    beyond = _BEYOND_LATIN1.search(text)
    if beyond is not None:
        raise ValueError(
            f"{what} {text!r} contains {beyond.group()!r}: browsers read header values as"
            " Latin-1, so only characters up to U+00FF can be sent"
        )
    return '"' + _NEEDS_ESCAPE.sub(r"\\\1", text) + '"'


_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def quote_lossy(text: str) -> tuple[str, bool]:
    """Like :func:`quote`, but never raises: a character that cannot travel in a header
    (a control, or one beyond U+00FF) is written as its code point, so a reader of the
    header sees ``\\u20ac`` for the euro sign (its backslash escaped in the header).

    :returns: the quoted-string, and whether a character had to be written as its code.
    """
    escaped, count = _UNSENDABLE.subn(_escape_char, text)
    return '"' + _NEEDS_ESCAPE.sub(r"\\\1", escaped) + '"', count > 0


def format_duration(duration_ns: int) -> str:
    """Milliseconds with microsecond precision, the unit of ``Server-Timing``'s ``dur``."""
    return f"{duration_ns / 1_000_000:.3f}"


def check_origin(value: object, what: str) -> str:
    """Return a serialised origin (``https://example.com:8443``) lower-cased, else raise."""
    if not isinstance(value, str) or _ORIGIN.fullmatch(value) is None:
        raise ValueError(
            f"{what}: {value!r} is not an origin; use '*' or values like 'https://app.example.com'"
        )
    return value.lower()
