"""Reading CORS request headers and merging ``Vary``, without trusting the client."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
NORMALISED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
"""Methods the Fetch standard upper-cases; browsers compare any other method case-sensitively."""


def is_token(value: str) -> bool:
    """Whether ``value`` is an HTTP token, as method and header names must be."""
    return _TOKEN.fullmatch(value) is not None


def requested_headers(value: str) -> list[str] | None:
    """``Access-Control-Request-Headers`` as lower-cased names, or ``None`` if malformed."""
    names = []
    for item in value.split(","):
        name = item.strip(" \t")
        if not name:
            continue  # empty list elements are allowed by the list syntax
        if _TOKEN.fullmatch(name) is None:
            return None
        names.append(name.lower())
    return names


def merge_headers(
    headers: list[tuple[str, str]], cors: list[tuple[str, str]], vary: str | None
) -> None:
    """Put the ``cors`` headers into a WSGI header list, replacing any of the same names,
    and add ``vary`` (comma-separated names) to ``Vary`` once each, in one ``Vary`` field.
    """
    for name, _ in headers:
        lowered = name.lower()
        if lowered == "vary" or lowered.startswith("access-control-"):
            break
    else:  # the usual case: nothing to merge with
        headers.extend(cors)
        if vary is not None:
            headers.append(("Vary", vary))
        return
    owned = {name.lower() for name, _ in cors}
    varies: list[str] = []
    kept = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "vary":
            varies.extend(v.strip() for v in value.split(",") if v.strip())
        elif lowered not in owned:
            kept.append((name, value))
    if vary is not None:
        present = {v.lower() for v in varies}
        if "*" not in present:
            varies.extend(v for v in vary.split(", ") if v.lower() not in present)
    if varies:
        kept.append(("Vary", ", ".join(varies)))
    headers[:] = kept + cors
