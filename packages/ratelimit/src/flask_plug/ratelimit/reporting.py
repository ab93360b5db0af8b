"""Problems with the app's own functions, logged once each: they fail the same way on
every request, and the log must not grow with the traffic."""

from __future__ import annotations

import threading
import typing as t

if t.TYPE_CHECKING:
    import logging

_MAX_KEYS = 1024


class OnceLog:
    """Logs a problem the first time its key is seen; bounded: past ``1024`` distinct
    problems it starts over (and may log one again)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._seen: set[t.Hashable] = set()
        self._lock = threading.Lock()

    def error(self, key: t.Hashable, message: str, *args: object, exc_info: bool = False) -> None:
        """Log ``message % args`` as an error, with the exception if ``exc_info``, unless
        ``key`` was logged before."""
        with self._lock:
            if key in self._seen:
                return
            if len(self._seen) >= _MAX_KEYS:
                self._seen.clear()
            self._seen.add(key)
        self._logger.error(
            "flask-plug-ratelimit: " + message + " (logged once)", *args, exc_info=exc_info
        )
