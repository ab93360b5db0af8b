"""Apache-style escaping and redaction of the values that reach a log line."""

from __future__ import annotations

import re
from urllib.parse import unquote

REDACTED = "REDACTED"
"""What a redacted value is replaced with."""

DEFAULT_REDACT = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "accesskey",
    "privatekey",
    "authorization",
    "cookie",
    "session",
    "sessid",
    "signature",
    "credential",
)
"""Fragments: a parameter or header name containing one of these anywhere is secret. Case
and everything but letters and digits do not count: ``apikey`` covers ``api_key``,
``X-API-Key``, ``apiKey`` and ``xapikey``; ``session`` covers ``PHPSESSIONID`` and
``sessionid``. ``REQLOG_REDACT`` adds fragments."""

DEFAULT_REDACT_PARTS = (
    "key",
    "pass",
    "pwd",
    "pw",
    "passcode",
    "pin",
    "auth",
    "jwt",
    "assertion",
    "sig",
    "hmac",
    "otp",
    "totp",
    "hotp",
    "mfa",
    "2fa",
    "verifier",
    "csrf",
    "xsrf",
    "sid",
    "cvv",
    "cvc",
    "device_code",
    "user_code",
    "recovery_code",
    "backup_code",
    "verification_code",
    "security_code",
    "reset_code",
    "login_code",
)
"""Words: a name is secret if one of its parts is one of these (or, written with ``_``, a
run of its parts). A name's parts are what is left between ``-``, ``_``, ``.``, other
punctuation and camelCase boundaries, lower-cased, trailing digits aside: ``X-Access-Key``
is ``x access key``, ``apiKey2`` is ``api key``, ``AWSAccessKeyId`` is
``aws access key id``. So ``key`` covers ``api_key`` and ``Key-Pair-Id`` but not
``keyboard``, ``monkey`` or ``keys``; ``pass`` covers ``user_pass`` but not ``passage``.

.. versionadded:: 0.2
"""

DEFAULT_REDACT_NAMES = ("code", "ticket")
"""Whole names: secret only as the entire name. OAuth's ``code`` and CAS's ``ticket``
are secrets; ``country_code`` and ``ticket_id`` are not.

.. versionadded:: 0.2
"""

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
    """Decides which query parameters and headers are secret, by name.

    :param fragments: secret wherever they appear in a name (:data:`DEFAULT_REDACT` and
        ``REQLOG_REDACT``).
    :param parts: secret as a whole part, or a run of parts (:data:`DEFAULT_REDACT_PARTS`).
    :param names: secret as the whole name (:data:`DEFAULT_REDACT_NAMES`).
    """

    def __init__(
        self,
        fragments: tuple[str, ...],
        parts: tuple[str, ...] = DEFAULT_REDACT_PARTS,
        names: tuple[str, ...] = DEFAULT_REDACT_NAMES,
    ) -> None:
        self.names = tuple(sorted({_normal(name) for name in fragments}))
        """Fragments, normalised; a name containing one of them is secret."""
        self._pattern = re.compile("|".join(re.escape(name) for name in self.names))
        self._words = frozenset(word for word in parts if "_" not in word)
        self._runs = tuple(tuple(run.split("_")) for run in parts if "_" in run)
        self._whole = frozenset(names)
        self._seen: dict[str, bool] = {}

    def is_secret(self, name: str) -> bool:
        """Whether a parameter or header called ``name`` holds a secret."""
        secret = self._seen.get(name)
        if secret is None:
            secret = self._decide(unquote(name, "latin-1") if "%" in name else name)
            # Names come from clients: remember a bounded number of them.
            if len(self._seen) < 4096:
                self._seen[name] = secret
        return secret

    def _decide(self, name: str) -> bool:
        if self._pattern.search(_normal(name)) is not None:
            return True
        parts = name_parts(name)
        if not parts:
            return False
        if len(parts) == 1 and parts[0] in self._whole:
            return True
        if not self._words.isdisjoint(parts):
            return True
        return any(
            parts[i : i + len(run)] == list(run)
            for run in self._runs
            for i in range(len(parts) - len(run) + 1)
        )

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
        """``url`` (a path or an absolute URL) with its query redacted, and its fragment
        too where it holds ``name=value`` pairs (OAuth's implicit flow puts tokens there)."""
        rest, hash_sign, fragment = url.partition("#")
        if hash_sign and "=" in fragment:
            fragment = self.query(fragment)
        path, question, query = rest.partition("?")
        if question:
            rest = f"{path}?{self.query(query)}"
        return f"{rest}{hash_sign}{fragment}"


# Lower then upper (apiKey), or an acronym's last capital before a word (AWSAccess).
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def name_parts(name: str) -> list[str]:
    """The lower-cased parts of a parameter or header name, trailing digits aside:
    ``X-Hub-Signature-256`` is ``["x", "hub", "signature", "256"]``, ``apiKey2`` is
    ``["api", "key"]``."""
    parts = []
    for part in _NOT_ALNUM.split(_CAMEL.sub(" ", name).lower()):
        if part:
            parts.append(part.rstrip("0123456789") or part)
    return parts


def _normal(name: str) -> str:
    return _NOT_ALNUM.sub("", name.lower())
