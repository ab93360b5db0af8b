"""Where an app keeps its request log: the extension key and the per-app state."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from flask import Flask

    from .settings import RequestLogSettings
    from .writer import LogWriter

EXTENSION_KEY = "flask-plug-reqlog"


class State(t.NamedTuple):
    """What :meth:`~flask_plug.reqlog.RequestLog.init_app` leaves on an app."""

    settings: RequestLogSettings
    writer: LogWriter


def get_state(app: Flask) -> State:
    """The request log state of ``app``.

    :raises RuntimeError: if the request log is not registered on ``app``.
    """
    state: State | None = app.extensions.get(EXTENSION_KEY)
    if state is None:
        raise RuntimeError(
            "flask-plug-reqlog is not initialised on this app: call init_app(app) first"
        )
    return state
