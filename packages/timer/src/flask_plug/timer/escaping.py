"""Escaping of the client's text that reaches the ``TIMER_LOG`` line."""

from __future__ import annotations

MAX_LOGGED_LENGTH = 800
"""Longer escaped values end in ``...``, so a long path cannot flood the log."""


def _escape_char(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:
        return f"\\x{code - 0xDC00:02x}"  # a byte that was not UTF-8, kept by surrogateescape
    if char == "\\":
        return "\\\\"
    if char.isprintable() and char != " ":
        return char
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def escape_wsgi(value: str) -> str:
    """A WSGI string (bytes as Latin-1 characters) as one printable, space-free word.

    UTF-8 text stays readable (``/café``); ``\\`` is doubled; spaces, control
    characters, other unprintable characters (line separators, bidi overrides) and
    bytes that are not UTF-8 become ``\\xhh``, ``\\uhhhh`` or ``\\Uhhhhhhhh``. So a
    value can neither end the line nor rewrite the terminal that shows it. An escaped
    value longer than :data:`MAX_LOGGED_LENGTH` is cut and ends in ``...``.
    """
    if value.isascii():
        text = value
        if text.isprintable() and " " not in text and "\\" not in text:
            return text if len(text) <= MAX_LOGGED_LENGTH else text[: MAX_LOGGED_LENGTH - 3] + "..."
    else:
        try:
            text = value.encode("latin-1").decode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            text = value  # not a WSGI string after all: escape it as text
    pieces, length = [], 0
    for char in text:
        piece = _escape_char(char)
        if length + len(piece) > MAX_LOGGED_LENGTH - 3:
            pieces.append("...")
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces)
