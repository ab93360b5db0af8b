"""Failures of the app's own code that stats runs (collectors, label functions): each
is logged at most once a minute, and the request goes on."""

from __future__ import annotations

import math
import time

from flask import current_app


class FailureLog:
    """When each kind of failure was last logged."""

    def __init__(self) -> None:
        self._logged: dict[str, float] = {}

    def exception(self, key: str, message: str) -> None:
        """Log the exception being handled as ``message``, unless ``key`` was logged less
        than a minute ago."""
        now = time.monotonic()
        if now - self._logged.get(key, -math.inf) >= 60:
            self._logged[key] = now
            current_app.logger.exception("%s (logged at most once a minute)", message)
