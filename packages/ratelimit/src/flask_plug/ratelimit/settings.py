"""The limiter's options: keyword, then ``RATELIMIT_*`` config key, then default; validated once."""

from __future__ import annotations

import inspect
import typing as t
from collections.abc import Callable
from dataclasses import dataclass

from .algorithms import ALGORITHMS
from .keys import remote_addr
from .limits import Limit, parse_limits
from .redis_urls import SCHEMES, parse_storage_url, scheme_of

if t.TYPE_CHECKING:
    from collections.abc import Container, Mapping

    from flask import Flask

    from .plan import DeductWhen, LimitFunction, OnBreach

_POLICIES = ("allow", "deny")
_RESETS = ("seconds", "unix")


class LimiterOptions(t.TypedDict, total=False):
    """Keyword options of :class:`RateLimiter`; each is also a ``RATELIMIT_*`` config key."""

    default: str | Callable[[], str | None] | None
    default_exempt_when: Callable[[], bool] | None
    default_cost: int | Callable[[], int]
    default_deduct_when: DeductWhen | None
    application: str | Callable[[], str | None] | None
    application_exempt_when: Callable[[], bool] | None
    application_cost: int | Callable[[], int]
    application_deduct_when: DeductWhen | None
    on_breach: OnBreach | None
    storage_uri: str
    strategy: str
    key_func: Callable[[], str]
    on_storage_error: str
    storage_timeout_ms: int
    headers: bool
    legacy_headers: bool
    legacy_reset: str
    exempt_methods: list[str]
    key_prefix: str
    enabled: bool
    memory_max_keys: int


@dataclass(frozen=True)
class LimiterSettings:
    """The resolved options of one app, as :class:`RateLimiter` documents them."""

    default: tuple[Limit, ...] | LimitFunction
    """``RATELIMIT_DEFAULT``, parsed; empty for none; a function giving them per request.

    .. versionchanged:: 0.2
        Or a function."""
    storage_uri: str
    """``RATELIMIT_STORAGE_URI``."""
    strategy: str
    """``RATELIMIT_STRATEGY``."""
    key_func: Callable[[], str]
    """``RATELIMIT_KEY_FUNC``."""
    on_storage_error: str
    """``RATELIMIT_ON_STORAGE_ERROR``: ``"allow"`` or ``"deny"``."""
    storage_timeout_ms: int
    """``RATELIMIT_STORAGE_TIMEOUT_MS``."""
    headers: bool
    """``RATELIMIT_HEADERS``."""
    legacy_headers: bool
    """``RATELIMIT_LEGACY_HEADERS``."""
    legacy_reset: str
    """``RATELIMIT_LEGACY_RESET``: ``"seconds"`` or ``"unix"``.

    .. versionadded:: 0.2
    """
    exempt_methods: frozenset[str]
    """``RATELIMIT_EXEMPT_METHODS``, upper case; ``HEAD`` is in it exactly when ``GET`` is."""
    key_prefix: str
    """``RATELIMIT_KEY_PREFIX``."""
    enabled: bool
    """``RATELIMIT_ENABLED``."""
    memory_max_keys: int
    """``RATELIMIT_MEMORY_MAX_KEYS``."""
    default_exempt_when: Callable[[], bool] | None = None
    """``RATELIMIT_DEFAULT_EXEMPT_WHEN``.

    .. versionadded:: 0.2"""
    default_cost: int | Callable[[], int] = 1
    """``RATELIMIT_DEFAULT_COST``.

    .. versionadded:: 0.2"""
    default_deduct_when: DeductWhen | None = None
    """``RATELIMIT_DEFAULT_DEDUCT_WHEN``.

    .. versionadded:: 0.2"""
    application: tuple[Limit, ...] | LimitFunction = ()
    """``RATELIMIT_APPLICATION``, parsed; empty for none; or a function.

    .. versionadded:: 0.2"""
    application_exempt_when: Callable[[], bool] | None = None
    """``RATELIMIT_APPLICATION_EXEMPT_WHEN``.

    .. versionadded:: 0.2"""
    application_cost: int | Callable[[], int] = 1
    """``RATELIMIT_APPLICATION_COST``.

    .. versionadded:: 0.2"""
    application_deduct_when: DeductWhen | None = None
    """``RATELIMIT_APPLICATION_DEDUCT_WHEN``.

    .. versionadded:: 0.2"""
    on_breach: OnBreach | None = None
    """``RATELIMIT_ON_BREACH``.

    .. versionadded:: 0.2"""


class _Config:
    """Reads each option: the keyword argument, else the app's config key, else the default.

    ``None`` counts as not given, so ``None`` anywhere means "use the default".
    """

    def __init__(
        self, app: Flask, options: Mapping[str, t.Any], known: type, prefix: str, owner: str
    ) -> None:
        self.check(options, known, owner)
        self.app = app
        self.options = options
        self.prefix = prefix

    @staticmethod
    def check(options: Mapping[str, t.Any], known: type, owner: str) -> None:
        """Refuse the keyword options the ``TypedDict`` ``known`` does not declare; needs
        no app, so an option can be refused where it is given.

        :raises TypeError: naming the unknown options.
        """
        unknown = set(options) - set(known.__annotations__)
        if unknown:
            raise TypeError(f"unknown {owner} option(s): {', '.join(sorted(unknown))}")

    def key(self, option: str) -> str:
        """The config key of ``option``: ``"max_age"`` -> ``"CORS_MAX_AGE"``."""
        return f"{self.prefix}{option.upper()}"

    def value(self, option: str, default: t.Any) -> t.Any:
        """The keyword value, else the config value, else ``default``."""
        value = self.options.get(option)
        if value is None:
            value = self.app.config.get(self.key(option))
        return default if value is None else value

    def flag(self, option: str, default: bool) -> bool:
        """A value that must be ``True`` or ``False``."""
        value = self.value(option, default)
        if not isinstance(value, bool):
            raise ValueError(f"{self.key(option)} must be True or False, got {value!r}")
        return value


def resolve(app: Flask, options: Mapping[str, t.Any]) -> LimiterSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :raises TypeError: for an unknown keyword option.
    :raises ValueError: naming the config key and what it expects.
    """
    config = _Config(app, options, LimiterOptions, "RATELIMIT_", "RateLimiter")
    return LimiterSettings(
        default=_limits(config, "default"),
        storage_uri=_storage_uri(config, "storage_uri"),
        strategy=_one_of(config, "strategy", "gcra", f"one of {', '.join(ALGORITHMS)}", ALGORITHMS),
        key_func=_key_func(config, "key_func"),
        on_storage_error=_one_of(
            config, "on_storage_error", "allow", "'allow' or 'deny'", _POLICIES
        ),
        storage_timeout_ms=_whole_number(config, "storage_timeout_ms", 100),
        headers=config.flag("headers", True),
        legacy_headers=config.flag("legacy_headers", False),
        legacy_reset=_one_of(config, "legacy_reset", "seconds", "'seconds' or 'unix'", _RESETS),
        exempt_methods=_exempt_methods(config, "exempt_methods"),
        key_prefix=_key_prefix(config, "key_prefix"),
        enabled=config.flag("enabled", True),
        memory_max_keys=_whole_number(config, "memory_max_keys", 100_000),
        default_exempt_when=_function(config, "default_exempt_when"),
        default_cost=_cost(config, "default_cost"),
        default_deduct_when=_function(config, "default_deduct_when"),
        application=_limits(config, "application"),
        application_exempt_when=_function(config, "application_exempt_when"),
        application_cost=_cost(config, "application_cost"),
        application_deduct_when=_function(config, "application_deduct_when"),
        on_breach=_function(config, "on_breach"),
    )


def _fail(config: _Config, option: str, expected: str, value: object) -> t.NoReturn:
    raise ValueError(f"{config.key(option)} must be {expected}, got {value!r}")


def _limits(config: _Config, option: str) -> tuple[Limit, ...] | LimitFunction:
    value = config.value(option, None)
    if value is None:
        return ()
    if callable(value):
        return t.cast("LimitFunction", plain_function(value, config.key(option)))
    return parse_limits(value, config.key(option))


def plain_function(value: object, where: str) -> Callable[..., t.Any]:
    """``value``, if it is a function that is not ``async``: these are called inside the
    limiter's request hooks, where a coroutine would be a truthy object, never run.

    :raises ValueError: naming ``where``.
    """
    if not callable(value):
        raise ValueError(f"{where} must be a function, got {value!r}")
    if inspect.iscoroutinefunction(value):
        raise ValueError(f"{where} must be a plain function, not async: {value!r}")
    return value


def _function(config: _Config, option: str) -> t.Any:
    value = config.value(option, None)
    return None if value is None else plain_function(value, config.key(option))


def _cost(config: _Config, option: str) -> int | Callable[[], int]:
    value = config.value(option, 1)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if callable(value):
        return plain_function(value, config.key(option))
    _fail(config, option, "an int >= 0 or a function returning one", value)


def _storage_uri(config: _Config, option: str) -> str:
    uri = config.value(option, "memory://")
    if not (isinstance(uri, str) and (uri == "memory://" or scheme_of(uri) in SCHEMES)):
        # Only the scheme: the rest of a URL may hold a password.
        given = f"a {uri.partition(':')[0]!r} URL" if isinstance(uri, str) else repr(uri)
        raise ValueError(
            f"{config.key(option)} must be 'memory://' or a Redis URL (redis://, rediss://,"
            f" unix://, redis+cluster://, redis+sentinel://, or their valkey forms), got {given}"
        )
    try:
        if uri != "memory://":
            parse_storage_url(uri)
    except ValueError as e:
        raise ValueError(f"{config.key(option)} {e}") from None
    return uri


def _one_of(
    config: _Config, option: str, default: str, expected: str, choices: Container[str]
) -> str:
    value = config.value(option, default)
    if value not in choices:
        _fail(config, option, expected, value)
    return t.cast("str", value)


def _key_func(config: _Config, option: str) -> Callable[[], str]:
    value = config.value(option, remote_addr)
    if not callable(value):
        _fail(config, option, "a function returning a string", value)
    return t.cast("Callable[[], str]", value)


def _whole_number(config: _Config, option: str, default: int) -> int:
    value = config.value(option, default)
    if not (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        _fail(config, option, "a whole number above 0", value)
    return value


def _exempt_methods(config: _Config, option: str) -> frozenset[str]:
    methods = config.value(option, ["OPTIONS"])
    if not (
        isinstance(methods, (list, tuple, set, frozenset))
        and all(isinstance(m, str) for m in methods)
    ):
        _fail(config, option, "a list of HTTP methods", methods)
    exempt = frozenset(m.upper() for m in methods)
    if "HEAD" in exempt and "GET" not in exempt:
        # Flask answers HEAD with the GET view: exempting it alone would open the GET limits.
        raise ValueError(
            f"{config.key(option)}: HEAD is answered by the GET view and counted as GET;"
            f" exempt 'GET' (which exempts HEAD too) or remove 'HEAD', got {methods!r}"
        )
    return exempt | {"HEAD"} if "GET" in exempt else exempt


def _key_prefix(config: _Config, option: str) -> str:
    prefix = config.value(option, "flask-plug-ratelimit")
    if not (isinstance(prefix, str) and prefix):
        _fail(config, option, "a non-empty string", prefix)
    return prefix
