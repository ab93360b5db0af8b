"""Path rules (``CORS_RESOURCES``): the first rule, in the order given, that matches wins."""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field


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
