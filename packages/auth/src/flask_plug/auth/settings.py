"""The auth options: keyword, then ``AUTH_*`` config key, then default; validated once."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass
from datetime import timedelta

if t.TYPE_CHECKING:
    from flask import Flask

PLACEHOLDER_SECRETS = {
    "dev",
    "development",
    "development-key",
    "secret",
    "secret-key",
    "secretkey",
    "changeme",
    "change-me",
    "change_me",
    "unsafe-default-key",
    "default",
    "key",
    "your-secret-key",
    "your_secret_key",
    "super-secret",
    "supersecret",
    "test",
    "testing",
}
"""Secret keys copied from tutorials; refused whatever their length."""

DEFAULTS: dict[str, t.Any] = {
    "database_uri": None,
    "url_prefix": "/auth",
    "login_view": "auth.login",
    "default_next": "/",
    "session_lifetime": timedelta(days=7),
    "remember_days": 0,
    "max_failures": 5,
    "max_failures_per_address": 20,
    "failure_window": timedelta(minutes=15),
    "api_basic": False,
    "realm": "app",
    "token_lifetime": None,
    "db_timeout": 2.0,
}


@dataclass(frozen=True)
class AuthSettings:
    """The resolved options of one app."""

    database_uri: str
    url_prefix: str
    login_view: str
    default_next: str
    session_lifetime: timedelta
    remember_days: int
    max_failures: int
    max_failures_per_address: int
    failure_window: timedelta
    api_basic: bool
    realm: str
    token_lifetime: timedelta | None
    """How long a new API token works when :meth:`Auth.create_token` is given no
    ``lifetime``; ``None``: until revoked.

    .. versionadded:: 0.2
    """
    db_timeout: float
    """Seconds the engine auth opens waits for the database: to connect (PostgreSQL:
    whole seconds, 2 at least), for a pooled connection, for an answer (statement and
    call deadline), for a SQLite lock. Not applied to an engine given to :class:`Auth`.

    .. versionadded:: 0.2
    """


def key(option: str) -> str:
    return f"AUTH_{option.upper()}"


def check_secret_key(app: Flask) -> None:
    """Refuse to start without a real secret key: it signs every session cookie.

    ``SECRET_KEY`` and each key in ``SECRET_KEY_FALLBACKS`` must be 32 bytes or more, not a
    tutorial placeholder, and look random: at least :data:`MIN_DISTINCT_BYTES` different
    bytes, no one byte making up half of it, and not a shorter pattern repeated.

    .. versionchanged:: 0.2
        Keys with too little entropy are refused; ``SECRET_KEY_FALLBACKS`` is checked too.
    """
    secret = app.config.get("SECRET_KEY")
    if not secret:
        raise RuntimeError(
            "SECRET_KEY is not set: it signs the session cookies that keep users logged in."
            " Set it to a random value of 32 bytes or more, for example the output of"
            " `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    _check_key("SECRET_KEY", secret)
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, (str, bytes)) or not isinstance(fallbacks, (list, tuple)):
        raise RuntimeError(
            "SECRET_KEY_FALLBACKS must be a list of old secret keys (or empty), got"
            f" {type(fallbacks).__name__}"
        )
    for index, fallback in enumerate(fallbacks):
        _check_key(f"SECRET_KEY_FALLBACKS[{index}]", fallback)


MIN_DISTINCT_BYTES = 8
"""The fewest different bytes a secret key may have. Not 16: a hex key (``token_hex``) has
only 16 symbols, and a quarter of ``token_hex(32)`` keys do not use all of them; a random
hex key of 32 characters has fewer than 8 about once in 30 million."""


def _check_key(name: str, secret: object) -> None:
    """Raise naming the key (never showing a key that may be real) if it is weak."""
    if not isinstance(secret, (str, bytes, bytearray)):
        raise RuntimeError(f"{name} must be a string or bytes, got {type(secret).__name__}")
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise RuntimeError(f"{name} is empty; use secrets.token_hex(32)")
    if raw.decode(errors="replace").strip().lower() in PLACEHOLDER_SECRETS:
        raise RuntimeError(f"{name} {secret!r} is a well-known placeholder; use a random one")
    if len(raw) < 32:
        raise RuntimeError(
            f"{name} is {len(raw)} bytes long; use 32 random bytes or more (secrets.token_hex(32))"
        )
    problem = _low_entropy(raw)
    if problem is not None:
        raise RuntimeError(
            f"{name} {problem}: it is not random. Use secrets.token_hex(32) or os.urandom(32)"
        )


def _low_entropy(raw: bytes) -> str | None:
    """Why a key of 32 bytes or more is too predictable to sign with, or ``None``."""
    distinct = len(set(raw))
    if distinct < MIN_DISTINCT_BYTES:
        return f"has only {distinct} distinct bytes (a random key has {MIN_DISTINCT_BYTES} or more)"
    if max(raw.count(byte) for byte in set(raw)) * 2 >= len(raw):
        return "repeats one byte in half of it or more"
    for period in range(1, len(raw) // 2 + 1):
        if raw[period:] == raw[:-period]:  # equal to itself shifted: a repeated pattern
            return f"repeats a pattern of {period} bytes"
    return None


MAX_LIFETIME = timedelta(days=100 * 365)
"""The longest token lifetime: longer ones would overflow dates and mean "never" anyway."""


def check_lifetime(value: object) -> timedelta:
    """A lifetime from a :class:`~datetime.timedelta` or a number of seconds, above zero
    and at most :data:`MAX_LIFETIME`.

    :raises ValueError: for anything else.
    """
    given = value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            value = timedelta(seconds=value)
        except (OverflowError, ValueError):  # infinity, NaN, or too large
            pass
    if not isinstance(value, timedelta) or not timedelta(0) < value <= MAX_LIFETIME:
        raise ValueError(
            "a lifetime is a positive number of seconds or a timedelta of at most 100 years,"
            f" got {given!r}"
        )
    return value


def resolve(app: Flask, options: dict[str, t.Any], *, need_database_uri: bool) -> AuthSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises ValueError: naming the config key and what it expects.
    """
    unknown = set(options) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown Auth option(s): {', '.join(sorted(unknown))}")
    values = {}
    for option, default in DEFAULTS.items():
        value = options.get(option)
        values[option] = app.config.get(key(option), default) if value is None else value

    def fail(option: str, expected: str) -> t.NoReturn:
        raise ValueError(f"{key(option)} must be {expected}, got {values[option]!r}")

    if values["database_uri"] is None and need_database_uri:
        os.makedirs(app.instance_path, exist_ok=True)
        values["database_uri"] = "sqlite:///" + os.path.join(app.instance_path, "auth.db")
    elif values["database_uri"] is None:
        values["database_uri"] = "(the engine given to Auth)"
    for option in ("database_uri", "login_view", "realm"):
        if not isinstance(values[option], str) or not values[option]:
            fail(option, "a non-empty string")
    for option in ("url_prefix", "default_next"):
        if not isinstance(values[option], str) or not values[option].startswith("/"):
            fail(option, "a path starting with '/'")
    for option in ("session_lifetime", "failure_window"):
        value = values[option]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                value = timedelta(seconds=value)
            except (OverflowError, ValueError):  # infinity, NaN, or too large
                fail(option, "a positive number of seconds or a timedelta")
        if not isinstance(value, timedelta) or value <= timedelta(0):
            fail(option, "a positive number of seconds or a timedelta")  # as given
        values[option] = value
    timeout = values["db_timeout"]
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 1e6:
        fail("db_timeout", "a positive number of seconds")  # NaN fails the comparison too
    values["db_timeout"] = float(timeout)
    for option in ("remember_days", "max_failures", "max_failures_per_address"):
        value = values[option]
        minimum = 0 if option == "remember_days" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            fail(option, f"a whole number >= {minimum}")
    if not isinstance(values["api_basic"], bool):
        fail("api_basic", "True or False")
    if values["token_lifetime"] is not None:
        try:
            values["token_lifetime"] = check_lifetime(values["token_lifetime"])
        except ValueError:
            fail("token_lifetime", "None, or a positive number of seconds or timedelta")
    if any(c in values["realm"] for c in '"\\\r\n'):
        fail("realm", "text without quotes, backslashes or line breaks")
    return AuthSettings(**values)
