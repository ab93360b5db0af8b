"""Origins: parsing, normalising and matching, with no regex ever run on a bare suffix."""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?P<host>[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_LABEL = re.compile(r"(?!-)[a-z0-9\-]{1,63}(?<!-)")


def normalise(origin: str) -> str | None:
    """The serialised form of ``origin`` (scheme and host lower-cased, default port
    dropped), or ``None`` if it is not a ``scheme://host[:port]`` origin."""
    match = _ORIGIN.fullmatch(origin)
    if match is None:
        return None
    scheme = match["scheme"].lower()
    host = match["host"].lower()
    if host.startswith(".") or host.endswith(".") or ".." in host:
        return None
    port = None if match["port"] is None else int(match["port"])
    if port is None or _DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    if port > 65535:
        return None
    return f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class _Wildcard:
    """``https://*.example.com``: one or more labels before ``.example.com``, same scheme
    and port."""

    prefix: str  # "https://"
    suffix: str  # ".example.com" or ".example.com:8443"

    def matches(self, origin: str) -> bool:
        if not (origin.startswith(self.prefix) and origin.endswith(self.suffix)):
            return False
        labels = origin[len(self.prefix) : len(origin) - len(self.suffix)]
        return bool(labels) and all(_LABEL.fullmatch(label) for label in labels.split("."))


class OriginMatcher:
    """Decides whether an ``Origin`` header value is allowed.

    :param spec: ``"*"``, or an origin, ``re.Pattern`` or ``https://*.example.com``
        wildcard, or a list of those.
    :param key: the config key that ``spec`` came from, for error messages.
    :raises ValueError: naming the bad value, if anything in ``spec`` is not one of those.
    """

    __slots__ = ("any", "exact", "wildcards", "patterns", "description")

    def __init__(self, spec: t.Any, key: str) -> None:
        values = [spec] if isinstance(spec, (str, re.Pattern)) else spec
        if not isinstance(values, (list, tuple, set, frozenset)):
            raise ValueError(
                f"{key} must be '*', an origin, a re.Pattern, or a list of them; got {spec!r}"
            )
        self.any = False
        exact: set[str] = set()
        wildcards: list[_Wildcard] = []
        patterns: list[re.Pattern[str]] = []
        for value in values:
            if isinstance(value, re.Pattern):
                if not isinstance(value.pattern, str):
                    raise ValueError(f"{key}: {value!r} must be a str pattern, not bytes")
                patterns.append(value)
            elif value == "*":
                self.any = True
            elif value == "null":
                exact.add("null")  # opaque origins (sandboxed iframes, file:) only if listed
            elif isinstance(value, str) and value.startswith(("http://*.", "https://*.")):
                wildcards.append(_wildcard(value, key))
            elif isinstance(value, str) and normalise(value) is not None:
                exact.add(t.cast(str, normalise(value)))
            else:
                raise ValueError(
                    f"{key}: {value!r} is not an origin; use values like"
                    " 'https://app.example.com', 'https://*.example.com', '*' or re.compile(...)"
                )
        if self.any and (exact or wildcards or patterns):
            raise ValueError(f"{key}: '*' already allows every origin; list no others with it")
        self.exact = frozenset(exact)
        self.wildcards = tuple(wildcards)
        self.patterns = tuple(patterns)
        shown = [*sorted(exact), *(w.prefix + "*" + w.suffix for w in wildcards)]
        shown += [f"re.compile({p.pattern!r})" for p in patterns]
        self.description = "*" if self.any else ", ".join(shown) or "no origins"

    @property
    def allows_some(self) -> bool:
        """``False`` when no origin at all is allowed: CORS is off there."""
        return self.any or bool(self.exact or self.wildcards or self.patterns)

    def allowed(self, origin: str) -> bool:
        """Whether the ``Origin`` header value ``origin`` is allowed.

        A value that is not a well-formed origin is never allowed, except ``"*"`` allows
        anything (the response then says ``*`` and reflects nothing).
        """
        if self.any or origin in self.exact:
            return True
        if origin == "null" or normalise(origin) != origin:
            # "null" only when listed; and browsers always send the serialised form, so
            # anything else is refused rather than reflected.
            return False
        if any(w.matches(origin) for w in self.wildcards):
            return True
        return any(p.fullmatch(origin) for p in self.patterns)


def _wildcard(value: str, key: str) -> _Wildcard:
    scheme, rest = value.split("://*.", 1)
    host, _, port = rest.partition(":")
    labels = host.lower().split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(
            f"{key}: {value!r} is not an origin; a wildcard needs a domain of two labels or"
            " more after '*.', like 'https://*.example.com'"
        )
    normal = normalise(f"{scheme}://x.{host}" + (f":{port}" if port else ""))
    if normal is None:
        raise ValueError(f"{key}: {value!r} is not an origin")
    return _Wildcard(prefix=f"{scheme.lower()}://", suffix=normal[len(scheme) + 4 :])
