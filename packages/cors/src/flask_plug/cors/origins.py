"""Origins: parsing, normalising and matching, with no regex ever run on a bare suffix."""

from __future__ import annotations

import inspect
import re
import typing as t
from dataclasses import dataclass

from .migration import regex_hint

if t.TYPE_CHECKING:
    from .asked import OriginCheck

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_ORIGIN = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    r"(?P<host>[A-Za-z0-9\-._~]+|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>[0-9]{1,5}))?"
)
_LABEL = re.compile(r"(?!-)[a-z0-9\-]{1,63}(?<!-)")
MAX_ORIGIN_LENGTH = 300
"""Longer than any real origin (a host name has at most 253 characters); what an
origins function is asked, and its cache keeps, is never longer."""


def normalise(origin: str) -> str | None:
    """The serialised form of ``origin`` (scheme and host lower-cased, default port
    dropped), or ``None`` if it is not a ``scheme://host[:port]`` origin of at most
    :data:`MAX_ORIGIN_LENGTH` characters."""
    if len(origin) > MAX_ORIGIN_LENGTH:
        return None
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

    :param spec: ``"*"``, or an origin, ``re.Pattern``, ``https://*.example.com``
        wildcard or function ``(origin: str) -> bool``, or a list of those.
    :param key: the config key that ``spec`` came from, for error messages.
    :param ask_through: wraps each function of ``spec`` (the app's cache of its
        answers); without it the functions are kept as they are.
    :raises ValueError: naming the bad value, if anything in ``spec`` is not one of those.

    .. versionchanged:: 0.2
        Functions, asked about serialised origins the static forms do not allow.
    """

    __slots__ = ("any", "exact", "wildcards", "patterns", "functions", "description")

    def __init__(
        self,
        spec: t.Any,
        key: str,
        # Spelled out, not OriginCheck: the API reference shows this signature.
        ask_through: t.Callable[[t.Callable[[str], bool]], t.Callable[[str], bool]] | None = None,
    ) -> None:
        single = isinstance(spec, (str, re.Pattern)) or callable(spec)
        values = [spec] if single else spec
        if not isinstance(values, (list, tuple, set, frozenset)):
            raise ValueError(
                f"{key} must be '*', an origin, a re.Pattern, a function, or a list of them;"
                f" got {spec!r}"
            )
        self.any = False
        exact: set[str] = set()
        wildcards: list[_Wildcard] = []
        patterns: list[re.Pattern[str]] = []
        functions: list[OriginCheck] = []
        for value in values:
            if isinstance(value, re.Pattern):
                if not isinstance(value.pattern, str):
                    raise ValueError(f"{key}: {value!r} must be a str pattern, not bytes")
                patterns.append(value)
            elif callable(value):
                if inspect.iscoroutinefunction(value):
                    raise ValueError(
                        f"{key}: {value!r} is a coroutine function; origins are decided"
                        " before the view runs, outside any event loop: pass a plain function"
                    )
                functions.append(value if ask_through is None else ask_through(value))
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
                    " 'https://app.example.com', 'https://*.example.com', '*', re.compile(...)"
                    " or a function" + regex_hint(value)
                )
        if self.any and (exact or wildcards or patterns or functions):
            raise ValueError(f"{key}: '*' already allows every origin; list no others with it")
        self.exact = frozenset(exact)
        self.wildcards = tuple(wildcards)
        self.patterns = tuple(patterns)
        self.functions = tuple(functions)
        shown = [*sorted(exact), *(w.prefix + "*" + w.suffix for w in wildcards)]
        shown += [f"re.compile({p.pattern!r})" for p in patterns]
        shown += [f"{getattr(f, '__qualname__', f)!s}()" for f in functions]
        self.description = "*" if self.any else ", ".join(shown) or "no origins"

    @property
    def allows_some(self) -> bool:
        """``False`` when no origin at all is allowed: CORS is off there."""
        return self.any or bool(self.exact or self.wildcards or self.patterns or self.functions)

    def allowed(self, origin: str) -> bool:
        """Whether the ``Origin`` header value ``origin`` is allowed.

        A value that is not a well-formed origin is never allowed, except ``"*"`` allows
        anything (the response then says ``*`` and reflects nothing). Functions are asked
        last, and only about serialised origins, never ``"null"``.
        """
        if self.any or origin in self.exact:
            return True
        if origin == "null" or normalise(origin) != origin:
            # "null" only when listed; and browsers always send the serialised form, so
            # anything else is refused rather than reflected.
            return False
        if any(w.matches(origin) for w in self.wildcards):
            return True
        if any(p.fullmatch(origin) for p in self.patterns):
            return True
        return bool(self.functions) and any(ask(origin) for ask in self.functions)


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
