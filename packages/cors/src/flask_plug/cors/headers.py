"""Reading CORS request headers and merging ``Vary``, without trusting the client."""

from __future__ import annotations

import re
import typing as t

if t.TYPE_CHECKING:
    from werkzeug.datastructures import Headers

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
NORMALISED_METHODS = frozenset({"DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"})
"""Methods the Fetch standard upper-cases; browsers compare any other method case-sensitively."""


def is_token(value: str) -> bool:
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


def add_vary(headers: Headers, names: str) -> None:
    """Add the comma-separated ``names`` to ``Vary``, keeping what is there, once each."""
    existing = headers.getlist("Vary")
    if not existing:
        headers["Vary"] = names
        return
    present = [v.strip() for field in existing for v in field.split(",") if v.strip()]
    lowered = {v.lower() for v in present}
    if "*" in lowered:
        return  # already varies on everything
    missing = [n for n in names.split(", ") if n.lower() not in lowered]
    if missing or len(existing) > 1:
        headers["Vary"] = ", ".join(present + missing)
