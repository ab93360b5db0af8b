"""Label names, and the bounded label sets of metrics whose values the app computes."""

from __future__ import annotations

import re
import threading

# Prometheus's name syntax, ASCII only: str.isalnum() also took "1abc" and "é", which the
# exposition then mangled.
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*", re.ASCII)
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*", re.ASCII)

RESERVED_LABELS = frozenset(
    {"le", "quantile", "endpoint", "method", "status", "exception", "collector"}
)
"""Label names default labels may not take: those of the request metrics, and those
histograms and summaries add to their samples."""

OVERFLOW = "other"
"""The value of every computed label once a metric has all the label sets it may have,
and of a value longer than :data:`MAX_VALUE_LENGTH`."""

MAX_VALUE_LENGTH = 200
"""The longest label value kept as it is, in characters."""


def label_name_error(name: object) -> str | None:
    """Why ``name`` cannot be a label name, or ``None`` if it can."""
    if not isinstance(name, str) or LABEL_NAME.fullmatch(name) is None:
        return "is not a label name: ASCII letters, digits and _, not starting with a digit"
    if name.startswith("__"):
        return "starts with '__', which Prometheus keeps for itself"
    return None


class LabelSets:
    """The label sets one metric has had, at most ``limit`` of them.

    Label values computed from a request (a path, a header) are the client's choice: past
    the limit, a new set is counted under :data:`OVERFLOW` in every position that
    ``computed`` marks, so a flood of distinct values adds one series, not one each.
    """

    def __init__(self, limit: int, computed: tuple[bool, ...]) -> None:
        self.limit = limit
        self._computed = computed
        self._overflow = tuple(OVERFLOW if is_computed else None for is_computed in computed)
        self._seen: set[tuple[str, ...]] = set()
        self._lock = threading.Lock()
        self.overflowed = False
        """Whether a set was ever counted as :data:`OVERFLOW`."""

    def admit(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """``values``, or what they are counted as."""
        if values in self._seen:
            return values
        values = tuple(
            OVERFLOW if len(value) > MAX_VALUE_LENGTH and computed else value
            for value, computed in zip(values, self._computed, strict=True)
        )
        with self._lock:
            if values in self._seen:
                return values
            if len(self._seen) < self.limit:
                self._seen.add(values)
                return values
            self.overflowed = True
        return tuple(
            value if overflow is None else overflow
            for value, overflow in zip(values, self._overflow, strict=True)
        )
