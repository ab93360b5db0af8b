"""Where the timer keeps its per-app state: the app's :class:`TimerSettings`."""

from __future__ import annotations

import typing as t

from .settings import TimerSettings

if t.TYPE_CHECKING:
    from flask import Flask

EXTENSION_KEY = "flask-plug-timer"


def get_state(app: Flask) -> TimerSettings:
    """The timer settings of ``app``.

    :raises RuntimeError: if :meth:`Timer.init_app` was not called on ``app``.
    """
    settings: TimerSettings | None = app.extensions.get(EXTENSION_KEY)
    if settings is None:
        raise RuntimeError(
            "flask-plug-timer is not initialised on this app: call init_app(app) first"
        )
    return settings
