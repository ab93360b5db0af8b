"""Origins decided at run time: an app's function, asked through a small bounded cache."""

from __future__ import annotations

import threading
import typing as t
from collections import OrderedDict
from time import monotonic

if t.TYPE_CHECKING:
    import logging

OriginCheck = t.Callable[[str], bool]
"""``origins`` given as a function: ``True`` for an origin that may read responses."""


class AskedOrigins:
    """The answers of one origins function, kept for ``ttl`` seconds.

    Allowed and refused answers are kept apart, each at most ``size`` origins, the least
    recently used dropped first. Random ``Origin`` values that the function refuses
    therefore only ever push out other refused origins: they can neither grow memory
    past ``2 * size`` entries nor evict the origins the app allows.

    The function is asked outside the lock, so a slow answer holds up only its own
    request. When it raises or answers anything but ``True`` or ``False``, the origin is
    refused and nothing is cached; the first failure of an outage is logged with the
    error, and the recovery with the number of failed calls.

    :param function: the app's function; it is given serialised origins only.
    :param size: how many allowed, and how many refused, origins to keep; 0 keeps none.
    :param ttl: seconds an answer is kept.
    :param logger: where failures are logged (the app's logger).
    """

    def __init__(
        self, function: OriginCheck, *, size: int, ttl: float, logger: logging.Logger
    ) -> None:
        self.function = function
        self.size = size
        self.ttl = ttl
        self.logger = logger
        self.allowed: OrderedDict[str, float] = OrderedDict()
        self.refused: OrderedDict[str, float] = OrderedDict()
        self.failures = 0
        self._lock = threading.Lock()
        self._name = getattr(function, "__qualname__", None) or repr(function)

    def __call__(self, origin: str) -> bool:
        if self.size:
            now = monotonic()
            with self._lock:
                for cache in (self.allowed, self.refused):
                    expires = cache.get(origin)
                    if expires is not None:
                        if expires > now:
                            cache.move_to_end(origin)
                            return cache is self.allowed
                        del cache[origin]
        answer = self._ask(origin)
        if answer is None:
            return False
        if self.size:
            cache = self.allowed if answer else self.refused
            with self._lock:
                cache[origin] = monotonic() + self.ttl
                cache.move_to_end(origin)
                if len(cache) > self.size:
                    cache.popitem(last=False)
        return answer

    def _ask(self, origin: str) -> bool | None:
        """The function's answer, or ``None`` if it failed."""
        try:
            answer = self.function(origin)
        except Exception as e:
            self._failed(f"raised {type(e).__name__}: {e}", e)
            return None
        if not isinstance(answer, bool):
            shown = repr(answer)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            self._failed(f"returned {shown}, not True or False", None)
            return None
        if self.failures:
            with self._lock:
                failures, self.failures = self.failures, 0
            if failures:
                self.logger.warning(
                    "CORS: the origins function %s answers again, after %d failed calls",
                    self._name,
                    failures,
                )
        return answer

    def _failed(self, what: str, error: Exception | None) -> None:
        with self._lock:
            self.failures += 1
            first = self.failures == 1
        if first:
            # Once per outage: a failing database would otherwise log every request.
            self.logger.error(
                "CORS: the origins function %s %s; origins only it could allow are"
                " refused until it answers again",
                self._name,
                what,
                exc_info=error,
            )
