"""Merged CORS options compiled into a :class:`CorsPolicy` with ready header values."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from .headers import is_token
from .migration import regex_hint
from .origins import OriginMatcher

if t.TYPE_CHECKING:
    from .asked import OriginCheck

Namer = Callable[[str], str]
"""Turns an option name into how an error message should name it (``CORS_ORIGINS`` …)."""


@dataclass(frozen=True, eq=False)
class CorsPolicy:
    """The compiled CORS rules of one scope (the app, a path rule, a blueprint or a view)."""

    origins: OriginMatcher
    methods: frozenset[str] | None
    """Methods a preflight may ask for; ``None`` means the route's own methods."""
    allow_headers: frozenset[str]
    """Lower-cased request headers a preflight may ask for, ``*`` aside."""
    allow_any_header: bool
    """``*`` was given: any header may be asked for, but ``Authorization`` if not listed."""
    expose_headers: str | None
    allow_credentials: bool
    max_age: str | None
    allow_private_network: bool
    source: str
    """Where these rules came from, for log messages."""

    enabled: bool
    """Whether any origin is allowed; if not, CORS is off in this scope."""

    def allows_header(self, name: str) -> bool:
        """Whether a preflight may ask for the lower-cased request header ``name``."""
        if name in self.allow_headers:
            return True
        # As in the Fetch standard, "*" never stands for Authorization.
        return self.allow_any_header and name != "authorization"

    varies_by_origin: bool
    """Whether the response headers depend on the ``Origin`` request header."""
    extra_headers: tuple[tuple[str, str], ...]
    """Sent with ``Access-Control-Allow-Origin`` on actual responses: credentials, exposed."""


def compile_policy(
    options: Mapping[str, t.Any],
    name: Namer,
    source: str,
    ask_through: t.Callable[[OriginCheck], OriginCheck] | None = None,
) -> CorsPolicy:
    """Compile merged ``options`` (every option present) into a policy.

    :param ask_through: what origins functions are asked through (the app's cache).
    :raises ValueError: for combinations the Fetch standard makes useless, such as
        credentials with any origin.
    """
    origins = OriginMatcher(options["origins"], name("origins"), ask_through)
    credentials = options["allow_credentials"]
    if credentials and origins.any:
        raise ValueError(
            f"{name('allow_credentials')} with {name('origins')} = '*' ({source}): browsers"
            " refuse credentials with a wildcard, and reflecting every origin instead would"
            " let any site act as the user. List the origins that may send credentials."
        )
    expose = token_list(options["expose_headers"], name("expose_headers"))
    if credentials and "*" in expose:
        raise ValueError(
            f"{name('expose_headers')} = '*' with {name('allow_credentials')} ({source}):"
            " for credentialed requests browsers read '*' as a header named '*'; list the"
            " headers to expose"
        )
    allow_headers = token_list(options["allow_headers"], name("allow_headers"))
    extra_headers = [("Access-Control-Expose-Headers", ", ".join(expose))] if expose else []
    if credentials:
        extra_headers.insert(0, ("Access-Control-Allow-Credentials", "true"))
    methods = options["methods"]
    max_age = options["max_age"]
    if isinstance(max_age, timedelta):
        max_age = max_age.total_seconds()
    return CorsPolicy(
        origins=origins,
        methods=None if methods is None else frozenset(method_list(methods, name("methods"))),
        allow_headers=frozenset(allow_headers) - {"*"},
        allow_any_header="*" in allow_headers,
        expose_headers=", ".join(expose) or None,
        allow_credentials=credentials,
        max_age=None if max_age is None else str(int(max_age)),
        allow_private_network=options["allow_private_network"],
        source=source,
        enabled=origins.allows_some,
        varies_by_origin=origins.allows_some and not origins.any,
        extra_headers=tuple(extra_headers),
    )


def token_list(value: t.Any, key: str, what: str = "header name") -> list[str]:
    """Tokens from a list or a comma-separated string, lower-cased, in order.

    :raises ValueError: naming ``key``, for anything that is not a token or ``*``.
    """
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(items, (bytes, Mapping)):
        raise ValueError(f"{key} must be a list of {what}s, got {value!r}")
    names: list[str] = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        if item == "*":
            names.append("*")
        elif not isinstance(item, str) or not is_token(item) or "*" in item:
            raise ValueError(f"{key}: {item!r} is not a {what}" + regex_hint(item))
        elif item.lower() not in names:
            names.append(item.lower())
    return names


def method_list(value: t.Any, key: str) -> list[str]:
    """Method names from a list or a comma-separated string, upper-cased, in order.

    :raises ValueError: naming ``key``, for anything that is not a method name.
    """
    methods = token_list(value, key, "method")
    if "*" in methods:
        raise ValueError(f"{key}: list the methods; '*' is not supported")
    return [m.upper() for m in methods]
