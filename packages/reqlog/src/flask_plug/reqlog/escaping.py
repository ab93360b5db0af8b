"""Apache-style escaping and redaction of the values that reach a log line."""

from __future__ import annotations

import re
from urllib.parse import unquote

REDACTED = "REDACTED"
"""What a redacted value is replaced with."""

DEFAULT_REDACT = (
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "authorization",
    "cookie",
    "session",
    "signature",
)
"""Parameter and header names holding any of these are redacted. Case, ``-`` and ``_`` do
not count: ``apikey`` covers ``api_key``, ``X-API-Key`` and ``api-key``."""

# Printable ASCII except the quote and the backslash: what may appear in a line as it is;
# outside quotes, not the space and the brackets either.
_NEEDS_ESCAPE = re.compile(r"[^ !#-\[\]-~]")
_NEEDS_BARE_ESCAPE = re.compile(r"[^!#-Z^-~]")


def _escape_char(code: int) -> str:
    if code == 0x22:
        return '\\"'
    if code == 0x5C:
        return "\\\\"
    if 0x20 <= code < 0x7F:
        return chr(code)
    return f"\\x{code:02x}"


_ESCAPES = {code: _escape_char(code) for code in range(256)}
# Fields outside quotes (%h, %u) are separated by spaces, and %t starts with '['.
_BARE_ESCAPES = {**_ESCAPES, 0x20: "\\x20", 0x5B: "\\x5b", 0x5D: "\\x5d"}


def escape(value: str, *, quoted: bool = True) -> str:
    """Escape ``value`` the way Apache's access log does, so every line parses.

    ``"`` and ``\\`` get a backslash; control bytes and every byte outside printable
    ASCII become ``\\xhh``. WSGI strings stand for bytes as Latin-1 characters, so each
    character is one byte; text beyond Latin-1 is escaped as its UTF-8 bytes. A value
    that is not ``quoted`` in the format also has its spaces and brackets escaped, since
    spaces separate such fields and ``[`` starts the time.
    """
    if (_NEEDS_ESCAPE if quoted else _NEEDS_BARE_ESCAPE).search(value) is None:
        return value
    return _bytes(value).translate(_ESCAPES if quoted else _BARE_ESCAPES)


MAX_FIELD_LENGTH = 800
"""Longer escaped values are cut, ending in ``...``: log readers such as goaccess read
lines of up to 4 KiB, and a Combined line has five fields that a client can fill."""


def escape_field(value: str, *, quoted: bool = True) -> str:
    """:func:`escape`, cut to at most :data:`MAX_FIELD_LENGTH` characters."""
    if len(value) <= MAX_FIELD_LENGTH and (
        (_NEEDS_ESCAPE if quoted else _NEEDS_BARE_ESCAPE).search(value) is None
    ):
        return value  # the common case, without a second call
    escaped = escape(value, quoted=quoted)
    if len(escaped) <= MAX_FIELD_LENGTH:
        return escaped
    table = _ESCAPES if quoted else _BARE_ESCAPES
    pieces, length = [], 0
    for char in _bytes(value):
        piece = table[ord(char)]
        if length + len(piece) > MAX_FIELD_LENGTH - 3:
            break
        pieces.append(piece)
        length += len(piece)
    return "".join(pieces) + "..."


def _bytes(value: str) -> str:
    if not value.isascii() and max(value) > "\xff":
        return value.encode("utf-8").decode("latin-1")
    return value


def wire_text(value: str) -> str:
    """Read a WSGI string (bytes as Latin-1) as the UTF-8 text it carries.

    Bytes that are not UTF-8 become ``\\xhh``, so the result is always encodable.
    """
    if value.isascii():
        return value
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return value
    return raw.decode("utf-8", "backslashreplace")


class Redactor:
    """Decides which query parameters and headers are secret, by name."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = tuple(sorted({_normal(name) for name in names}))
        """Fragments, normalised; a name containing one of them is secret."""
        self._pattern = re.compile("|".join(re.escape(name) for name in self.names))
        self._seen: dict[str, bool] = {}

    def is_secret(self, name: str) -> bool:
        """Whether a parameter or header called ``name`` holds a secret."""
        secret = self._seen.get(name)
        if secret is None:
            decoded = unquote(name, "latin-1") if "%" in name else name
            secret = self._pattern.search(_normal(decoded)) is not None
            # Names come from clients: remember a bounded number of them.
            if len(self._seen) < 4096:
                self._seen[name] = secret
        return secret

    def query(self, query: str) -> str:
        """``query`` with the values of secret parameters replaced by ``REDACTED``."""
        if not query:
            return query
        pairs = query.split("&")
        for index, pair in enumerate(pairs):
            name, equals, _ = pair.partition("=")
            if equals and self.is_secret(name):
                pairs[index] = f"{name}={REDACTED}"
        return "&".join(pairs)

    def url(self, url: str) -> str:
        """``url`` (a path or an absolute URL) with its query redacted."""
        path, question, query = url.partition("?")
        if not question:
            return url
        query, hash_sign, fragment = query.partition("#")
        return f"{path}?{self.query(query)}{hash_sign}{fragment}"


def _normal(name: str) -> str:
    return name.lower().replace("-", "").replace("_", "")
