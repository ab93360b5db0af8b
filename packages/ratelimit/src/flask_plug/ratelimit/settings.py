"""The limiter's options: keyword, then ``RATELIMIT_*`` config key, then default; validated once."""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .algorithms import ALGORITHMS
from .keys import remote_addr
from .limits import Limit, parse_limits

if t.TYPE_CHECKING:
    from flask import Flask

_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_HOST = re.compile(r"[^\s/?#@]*")


def redis_url_problem(uri: str) -> str | None:
    """What is wrong with the Redis URL ``uri``, or ``None``; never repeats its password.

    redis-py takes ``redis://host/abc`` as database 0 and ``redis://host:0`` as given, and
    names no setting when it does refuse a URL: these would surface as an outage, or as an
    error without the key, long after start-up.
    """
    try:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        query = parse_qs(parts.query, keep_blank_values=True)
    except ValueError as e:
        return f"is not a URL ({e})"
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        return "has a port that is not a number from 1 to 65535"
    if _HOST.fullmatch(host) is None:
        return f"has the host {host!r}, which cannot be a host name"
    dbs = query.get("db", [])
    if parts.scheme == "unix":
        if not parts.path:
            return "has no socket path; use unix:///path/to/redis.sock?db=0"
    elif parts.path not in ("", "/"):
        db = parts.path[1:]
        if not db.isdigit() or not db.isascii():
            return f"names the database {db!r}; use a number (redis://host:6379/0)"
        dbs = [db, *dbs]
    for db in dbs:
        if not db.isdigit() or not db.isascii():
            return f"has db={db!r}; use a number"
    return None


class LimiterOptions(t.TypedDict, total=False):
    """Keyword options of :class:`RateLimiter`; each is also a ``RATELIMIT_*`` config key."""

    default: str | None
    storage_uri: str
    strategy: str
    key_func: Callable[[], str]
    on_storage_error: str
    storage_timeout_ms: int
    headers: bool
    legacy_headers: bool
    exempt_methods: list[str]
    key_prefix: str
    enabled: bool
    memory_max_keys: int


DEFAULTS: dict[str, t.Any] = {
    "default": None,
    "storage_uri": "memory://",
    "strategy": "gcra",
    "key_func": remote_addr,
    "on_storage_error": "allow",
    "storage_timeout_ms": 100,
    "headers": True,
    "legacy_headers": False,
    "exempt_methods": ["OPTIONS"],
    "key_prefix": "flask-plug-ratelimit",
    "enabled": True,
    "memory_max_keys": 100_000,
}


@dataclass(frozen=True)
class LimiterSettings:
    """The resolved options of one app, as :class:`RateLimiter` documents them."""

    default: tuple[Limit, ...]
    storage_uri: str
    strategy: str
    key_func: Callable[[], str]
    on_storage_error: str
    storage_timeout_ms: int
    headers: bool
    legacy_headers: bool
    exempt_methods: frozenset[str]
    """Upper case; ``HEAD`` is in it exactly when ``GET`` is."""
    key_prefix: str
    enabled: bool
    memory_max_keys: int


def key(option: str) -> str:
    return f"RATELIMIT_{option.upper()}"


def resolve(app: Flask, options: dict[str, t.Any]) -> LimiterSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises ValueError: naming the config key and what it expects.
    """
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown RateLimiter option(s): {', '.join(sorted(unknown))}")
    values = {}
    for option, default in DEFAULTS.items():
        value = options.get(option)
        if value is None:
            value = app.config.get(key(option), default)
        values[option] = value

    def check(option: str, ok: bool, expected: str) -> None:
        if not ok:
            raise ValueError(f"{key(option)} must be {expected}, got {values[option]!r}")

    for flag in ("headers", "legacy_headers", "enabled"):
        check(flag, isinstance(values[flag], bool), "True or False")
    uri = values["storage_uri"]
    if not (isinstance(uri, str) and (uri == "memory://" or uri.startswith(_REDIS_SCHEMES))):
        # Only the scheme: the rest of a URL may hold a password.
        given = f"a {uri.partition(':')[0]!r} URL" if isinstance(uri, str) else repr(uri)
        raise ValueError(
            f"{key('storage_uri')} must be 'memory://' or a redis://, rediss:// or unix://"
            f" URL, got {given}"
        )
    problem = None if uri == "memory://" else redis_url_problem(uri)
    if problem is not None:
        raise ValueError(f"{key('storage_uri')} {problem}")
    check("strategy", values["strategy"] in ALGORITHMS, f"one of {', '.join(ALGORITHMS)}")
    check("key_func", callable(values["key_func"]), "a function returning a string")
    check("on_storage_error", values["on_storage_error"] in ("allow", "deny"), "'allow' or 'deny'")
    for number in ("storage_timeout_ms", "memory_max_keys"):
        value = values[number]
        check(
            number,
            isinstance(value, int) and not isinstance(value, bool) and value > 0,
            "a whole number above 0",
        )
    methods = values["exempt_methods"]
    check(
        "exempt_methods",
        isinstance(methods, (list, tuple, set, frozenset))
        and all(isinstance(m, str) for m in methods),
        "a list of HTTP methods",
    )
    exempt = frozenset(m.upper() for m in methods)
    if "HEAD" in exempt and "GET" not in exempt:
        # Flask answers HEAD with the GET view: exempting it alone would open the GET limits.
        raise ValueError(
            f"{key('exempt_methods')}: HEAD is answered by the GET view and counted as GET;"
            f" exempt 'GET' (which exempts HEAD too) or remove 'HEAD', got {methods!r}"
        )
    if "GET" in exempt:
        exempt |= {"HEAD"}
    prefix = values["key_prefix"]
    check("key_prefix", isinstance(prefix, str) and bool(prefix), "a non-empty string")
    default = values["default"]
    return LimiterSettings(
        default=() if default is None else parse_limits(default, key("default")),
        storage_uri=uri,
        strategy=values["strategy"],
        key_func=values["key_func"],
        on_storage_error=values["on_storage_error"],
        storage_timeout_ms=values["storage_timeout_ms"],
        headers=values["headers"],
        legacy_headers=values["legacy_headers"],
        exempt_methods=exempt,
        key_prefix=prefix,
        enabled=values["enabled"],
        memory_max_keys=values["memory_max_keys"],
    )
