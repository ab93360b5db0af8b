"""flask-cors's option names and forms, refused at start-up with what to write instead.

Names that flask-cors shares with this package and that mean the same here
(``origins``, ``methods``, ``allow_headers``, ``expose_headers``, ``max_age``,
``allow_private_network``) are simply accepted; ``resources`` is ours too, and only its
flask-cors forms are refused (see :mod:`.settings`).
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable, Mapping

DOCS = "https://flask-plug.github.io/flask-plug/cors.html#coming-from-flask-cors"

RENAMED = {"supports_credentials": "allow_credentials"}
"""flask-cors option -> ours, for options that only changed name."""

REMOVED = {
    "send_wildcard": "'*' is sent exactly when origins is '*' and credentials are off",
    "always_send": "a request without Origin gets Vary: Origin and no CORS headers",
    "vary_header": "Vary: Origin is always sent where the answer depends on the origin",
    "automatic_options": "preflights are always answered, before routing",
    "intercept_exceptions": "error responses always get the CORS headers",
}
"""flask-cors options with no equivalent here, and what this package does instead."""

Spelling = Callable[[str, t.Any], str]
"""How a scope writes ``option=value``: ``CORS_ALLOW_CREDENTIALS=True``,
``cross_origin(allow_credentials=True)`` ..."""

# What means something in a regex and never appears in an origin or a header name.
_REGEX = re.compile(r"[\\^$|?\[\]{}()+]|\.\*")
# The same for paths, less what paths do contain: "+", "(" and ")" (OData keys).
_PATH_REGEX = re.compile(r"[\\^$|?\[\]{}]|\.\*")


def refuse_flask_cors_options(
    options: Mapping[str, t.Any], name: Callable[[str], str], setting: Spelling
) -> None:
    """Refuse flask-cors's option names among keyword ``options``.

    :param name: how an error names an option in this scope.
    :param setting: how this scope writes ``option=value``.
    :raises TypeError: naming the first flask-cors option and what to write instead.
    """
    for option in options:
        message = _hint(option, options[option], name, setting)
        if message is not None:
            raise TypeError(message)


def refuse_flask_cors_config(config: Mapping[str, t.Any]) -> None:
    """Refuse flask-cors's config keys that are named or mean differently here; a key
    set to ``None`` counts as not set, as flask-cors reads it.

    :raises ValueError: naming the first such key and what to write instead.
    """
    for option in (*RENAMED, *REMOVED):
        value = config.get(f"CORS_{option.upper()}")
        if value is not None:
            message = _hint(
                option,
                value,
                lambda option: f"CORS_{option.upper()}",
                lambda option, value: f"CORS_{option.upper()}={value!r}",
            )
            raise ValueError(message)


def regex_hint(value: object) -> str:
    """A sentence for an error about ``value`` if it looks like a flask-cors regex."""
    if isinstance(value, str) and _REGEX.search(value):
        return (
            "; flask-cors read strings as regular expressions, this package never does:"
            " use re.compile(...) for a pattern"
        )
    return ""


def path_regex_hint(pattern: str) -> str | None:
    """Why the path pattern ``pattern`` is refused, if it looks like a flask-cors regex."""
    if _PATH_REGEX.search(pattern) is None:
        return None
    return (
        f"CORS_RESOURCES: {pattern!r} looks like a flask-cors regex; patterns here are"
        " '/exact/path', '/prefix/*' or re.compile(...) (re.escape a literal path that"
        " contains any of \\^$|?[]{})"
    )


def _hint(option: str, value: t.Any, name: Callable[[str], str], setting: Spelling) -> str | None:
    if option in RENAMED:
        return f"{name(option)} is flask-cors's name: use {setting(RENAMED[option], value)}"
    if option in REMOVED:
        return (
            f"{name(option)} is a flask-cors option with no equivalent here: remove it;"
            f" {REMOVED[option]} (see {DOCS})"
        )
    return None
