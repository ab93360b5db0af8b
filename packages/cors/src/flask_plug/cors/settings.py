"""The CORS options: keyword, then ``CORS_*`` config key, then default; validated once."""

from __future__ import annotations

import re
import typing as t
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from .origins import OriginMatcher
from .paths import PathRule
from .policy import Namer, method_list, token_list

if t.TYPE_CHECKING:
    from flask import Flask

OriginSpec = t.Union[str, "re.Pattern[str]", Iterable[t.Union[str, "re.Pattern[str]"]]]

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
    """:class:`CorsOptions` and the one option only the app takes."""

    resources: t.Any


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
    )


def config_key(option: str) -> str:
    """How errors about the app's own rules name ``option``: ``"max_age"`` -> ``"CORS_MAX_AGE"``."""
    return f"CORS_{option.upper()}"


def _checked(config: _Config, option: str) -> t.Any:
    value = config.value(option, DEFAULTS[option])
    if value is not None:
        _CHECKS[option](value, config.key(option))
    return value


def check_options(options: Mapping[str, t.Any], name: Namer) -> dict[str, t.Any]:
    """Check the options of a path rule, blueprint or view, each on its own; return them
    with ``None`` values dropped.

    :raises TypeError: for an unknown option.
    :raises ValueError: naming the option (through ``name``) and what it expects.
    """
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
        pairs = [(pattern, options) for pattern, options in items]
    except (TypeError, ValueError):
        raise ValueError(
            "CORS_RESOURCES must map path patterns to option dicts, like"
            " {'/api/*': {'origins': ['https://app.example.com']}}"
        ) from None
    rules: list[PathRule] = []
    for pattern, options in pairs:
        _check_pattern(pattern)
        if not isinstance(options, Mapping):
            raise ValueError(f"CORS_RESOURCES[{pattern!r}] must be a dict of options")
        label = PathRule(pattern, {}).label
        checked = check_options(options, lambda option: f"{label}[{option!r}]")  # noqa: B023
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


_CHECKS: dict[str, Callable[[t.Any, str], object]] = {
    "origins": OriginMatcher,
    "methods": method_list,
    "allow_headers": token_list,
    "expose_headers": token_list,
    "allow_credentials": _check_bool,
    "max_age": _check_max_age,
    "allow_private_network": _check_bool,
}
