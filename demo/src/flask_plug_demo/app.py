"""The demo's app factory."""

from __future__ import annotations

import typing as t

from flask import Flask

from .extensions import timer
from .views import bp


def create_app(config: t.Mapping[str, t.Any] | None = None) -> Flask:
    """Build the demo app.

    Defaults need no setup; ``FLASK_*`` environment variables override them
    (``FLASK_TIMER_SPANS=false``), and ``config`` overrides both (tests use it).
    """
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        # The demo shows its spans; a production app leaves TIMER_SPANS to debug mode.
        TIMER_SPANS=True,
        TIMER_RESPONSE_TIME_HEADER=True,
    )
    app.config.from_prefixed_env()
    if config is not None:
        app.config.update(config)

    timer.init_app(app)
    app.register_blueprint(bp)
    return app
