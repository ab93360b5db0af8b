"""Path rules (``CORS_RESOURCES``): the first rule, in the order given, that matches wins."""

from __future__ import annotations

import re
import typing as t
from collections.abc import Mapping
from dataclasses import dataclass, field

from .policy import check_options


@dataclass(frozen=True)
class PathRule:
    """One entry of ``CORS_RESOURCES``.

    ``pattern`` is an exact path (``/health``), a prefix ending in ``/*`` (``/api/*``
    matches every path that starts with ``/api/``), or an ``re.Pattern`` that must match
    the whole path. Paths are compared as Flask routes them: percent-decoded, ``+`` kept
    as ``+``, case-sensitive.
    """

    pattern: str | re.Pattern[str]
    options: dict[str, t.Any] = field(compare=False)

    @property
    def label(self) -> str:
        shown = self.pattern if isinstance(self.pattern, str) else self.pattern.pattern
        return f"CORS_RESOURCES[{shown!r}]"

    def matches(self, path: str) -> bool:
        pattern = self.pattern
        if isinstance(pattern, str):
            if pattern.endswith("/*"):
                return path.startswith(pattern[:-1])
            return path == pattern
        return pattern.fullmatch(path) is not None

    def shadows(self, later: PathRule) -> bool:
        """Whether this rule matches every path ``later`` could match."""
        mine, theirs = self.pattern, later.pattern
        if not (isinstance(mine, str) and isinstance(theirs, str)):
            return False
        if mine.endswith("/*"):
            return theirs.startswith(mine[:-1])
        return mine == theirs


def parse_rules(value: t.Any) -> tuple[PathRule, ...]:
    """Validate ``CORS_RESOURCES``: a mapping (or list of pairs) of pattern to options.

    :raises ValueError: naming the bad pattern or option, or a rule that an earlier
        rule makes unreachable.
    """
    if value is None:
        return ()
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
