"""The CORS options: keyword, then ``CORS_*`` config key, then default; validated once."""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from .asked import OriginCheck
from .migration import (
    Spelling,
    path_regex_hint,
    refuse_flask_cors_config,
    refuse_flask_cors_options,
)
from .origins import OriginMatcher
from .paths import PathRule
from .policy import Namer, method_list, token_list

if t.TYPE_CHECKING:
    from flask import Flask

OriginSpec = t.Union[
    str,
    "re.Pattern[str]",
    OriginCheck,
    Iterable[t.Union[str, "re.Pattern[str]", OriginCheck]],
]

DEFAULTS: dict[str, t.Any] = {
    "origins": (),
    "methods": None,
    "allow_headers": "*",
    "expose_headers": (),
    "allow_credentials": False,
    "max_age": None,
    "allow_private_network": False,
}
"""Every option of a scope and its default; a scope that does not set an option inherits it."""


class CorsOptions(t.TypedDict, total=False):
    """The options of every scope: :class:`CORS`, :meth:`CORS.configure_blueprint` and
    :func:`cross_origin` take them as keywords; the app also reads ``CORS_<OPTION>``."""

    origins: OriginSpec | None
    methods: str | Iterable[str] | None
    allow_headers: str | Iterable[str] | None
    expose_headers: str | Iterable[str] | None
    allow_credentials: bool | None
    max_age: int | timedelta | None
    allow_private_network: bool | None


class _AppOptions(CorsOptions, total=False):
    """:class:`CorsOptions` and the options only the app takes."""

    resources: t.Any
    origins_cache_size: int | None
    origins_cache_ttl: int | float | timedelta | None


@dataclass(frozen=True)
class CorsSettings:
    """The app's own rules, kept in ``app.extensions["flask-plug-cors"]``.

    Values are kept as given once checked: path rules, blueprints and views override
    them option by option, and each merged scope is compiled into a policy.
    """

    resources: tuple[PathRule, ...]
    """Path rules, the first that matches wins (``CORS_RESOURCES``)."""
    origins: OriginSpec
    """Who may read responses; none by default, so CORS is off (``CORS_ORIGINS``)."""
    methods: str | Iterable[str] | None
    """Methods a preflight may ask for; ``None``: the route's own (``CORS_METHODS``)."""
    allow_headers: str | Iterable[str]
    """Request headers a preflight may ask for (``CORS_ALLOW_HEADERS``)."""
    expose_headers: str | Iterable[str]
    """Response headers page scripts may read (``CORS_EXPOSE_HEADERS``)."""
    allow_credentials: bool
    """Allow cookies and HTTP authentication (``CORS_ALLOW_CREDENTIALS``)."""
    max_age: int | float | timedelta | None
    """How long browsers may cache a preflight; ``None``: not sent (``CORS_MAX_AGE``)."""
    allow_private_network: bool
    """Answer Private Network Access preflights (``CORS_ALLOW_PRIVATE_NETWORK``)."""
    origins_cache_size: int
    """How many allowed, and how many refused, answers of each origins function are
    kept; 0 keeps none (``CORS_ORIGINS_CACHE_SIZE``)."""
    origins_cache_ttl: float
    """Seconds an answer of an origins function is kept (``CORS_ORIGINS_CACHE_TTL``)."""


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


def resolve(app: Flask, options: Mapping[str, t.Any]) -> CorsSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and check each value.

    Combinations (credentials with ``origins="*"`` …) are checked as the policies compile.

    :raises TypeError: for an unknown option.
    :raises ValueError: naming the config key and what it expects, for any bad value.
    """
    refuse_flask_cors_options(options, str, lambda option, value: f"{option}={value!r}")
    refuse_flask_cors_config(app.config)
    config = _Config(app, options, _AppOptions, "CORS_", "CORS")
    return CorsSettings(
        resources=parse_rules(config.value("resources", ())),
        origins=_checked(config, "origins"),
        methods=_checked(config, "methods"),
        allow_headers=_checked(config, "allow_headers"),
        expose_headers=_checked(config, "expose_headers"),
        allow_credentials=config.flag("allow_credentials", False),
        max_age=_checked(config, "max_age"),
        allow_private_network=config.flag("allow_private_network", False),
        origins_cache_size=_cache_size(config),
        origins_cache_ttl=_cache_ttl(config),
    )


def config_key(option: str) -> str:
    """How errors about the app's own rules name ``option``: ``"max_age"`` -> ``"CORS_MAX_AGE"``."""
    return f"CORS_{option.upper()}"


def _checked(config: _Config, option: str) -> t.Any:
    value = config.value(option, DEFAULTS[option])
    if value is not None:
        _CHECKS[option](value, config.key(option))
    return value


def check_options(options: Mapping[str, t.Any], name: Namer, setting: Spelling) -> dict[str, t.Any]:
    """Check the options of a path rule, blueprint or view, each on its own; return them
    with ``None`` values dropped.

    :param name: how an error names an option of this scope.
    :param setting: how this scope writes ``option=value``, for flask-cors's names.
    :raises TypeError: for an unknown option, or flask-cors's name of one.
    :raises ValueError: naming the option (through ``name``) and what it expects.
    """
    refuse_flask_cors_options(options, name, setting)
    _Config.check(options, CorsOptions, "CORS")
    checked = {k: v for k, v in options.items() if v is not None}
    for option, value in checked.items():
        _CHECKS[option](value, name(option))
    return checked


def parse_rules(value: t.Any) -> tuple[PathRule, ...]:
    """Check ``CORS_RESOURCES``: a mapping (or list of pairs) of pattern to options.

    :raises ValueError: naming the bad pattern or option, or a rule that an earlier
        rule makes unreachable.
    """
    items = value.items() if isinstance(value, Mapping) else value
    try:
        if isinstance(items, (str, re.Pattern)):
            raise TypeError
        pairs = [(pattern, options) for pattern, options in items]
    except (TypeError, ValueError):
        raise ValueError(
            "CORS_RESOURCES must map path patterns to option dicts, like"
            " {'/api/*': {'origins': ['https://app.example.com']}}; flask-cors's patterns"
            " without options would change nothing here, where the app's options apply to"
            " every path"
        ) from None
    rules: list[PathRule] = []
    for pattern, options in pairs:
        _check_pattern(pattern)
        if not isinstance(options, Mapping):
            raise ValueError(f"CORS_RESOURCES[{pattern!r}] must be a dict of options")
        label = PathRule(pattern, {}).label
        checked = check_options(
            options,
            lambda option: f"{label}[{option!r}]",  # noqa: B023
            lambda option, value: f"{{{option!r}: {value!r}}} in {label}",  # noqa: B023
        )
        if not checked:
            raise ValueError(
                f"{label} sets no options, so it changes nothing: the app's options already"
                " apply to every path. (In flask-cors a resource said where CORS applies;"
                " here a rule overrides options on its paths: move the options into it.)"
            )
        rule = PathRule(pattern, checked)
        for earlier in rules:
            if earlier.shadows(rule):
                raise ValueError(
                    f"{rule.label} can never apply: {earlier.label} comes first and matches"
                    " every path it would; put the more specific rule first"
                )
        rules.append(rule)
    return tuple(rules)


def _check_pattern(pattern: t.Any) -> None:
    if isinstance(pattern, re.Pattern):
        if not isinstance(pattern.pattern, str):
            raise ValueError(f"CORS_RESOURCES: {pattern!r} must be a str pattern")
        return
    if pattern == "*":
        raise ValueError(
            "CORS_RESOURCES: '*' is flask-cors's 'every path': leave resources out and set"
            " the options on the app"
        )
    hint = path_regex_hint(pattern) if isinstance(pattern, str) else None
    if hint is not None:
        raise ValueError(hint)
    if not isinstance(pattern, str) or not pattern.startswith("/"):
        raise ValueError(
            f"CORS_RESOURCES: {pattern!r} is not a path pattern; use '/exact/path',"
            " '/prefix/*' or re.compile(...)"
        )
    if "*" in pattern.removesuffix("/*"):
        raise ValueError(
            f"CORS_RESOURCES: {pattern!r}: '*' is only allowed as a final '/*';"
            " use re.compile(...) for anything else"
        )


def _check_bool(value: t.Any, key: str) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be True or False, got {value!r}")


def _check_max_age(value: t.Any, key: str) -> None:
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
        raise ValueError(f"{key} must be a number of seconds >= 0 or a timedelta, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{key} must be whole seconds, got {value!r}")


def _cache_size(config: _Config) -> int:
    value = config.value("origins_cache_size", 1024)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"{config.key('origins_cache_size')} must be a whole number >= 0 (0 caches"
            f" nothing), got {value!r}"
        )
    return value


def _cache_ttl(config: _Config) -> float:
    value = config.value("origins_cache_ttl", 60)
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise ValueError(
            f"{config.key('origins_cache_ttl')} must be a number of seconds > 0 or a"
            f" timedelta (set CORS_ORIGINS_CACHE_SIZE to 0 to cache nothing), got {value!r}"
        )
    return float(seconds)


_CHECKS: dict[str, Callable[[t.Any, str], object]] = {
    "origins": OriginMatcher,
    "methods": method_list,
    "allow_headers": token_list,
    "expose_headers": token_list,
    "allow_credentials": _check_bool,
    "max_age": _check_max_age,
    "allow_private_network": _check_bool,
}
