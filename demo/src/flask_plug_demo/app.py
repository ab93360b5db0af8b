"""The demo's app factory."""

from __future__ import annotations

import typing as t

from flask import Flask

from .extensions import cors, limiter, timer
from .views import bp

FRONTEND_ORIGIN = "http://localhost:5000"
"""The demo's front-end origin: open the demo at this address to make cross-origin calls."""


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
        # The "front end": the same server under another name is another origin.
        CORS_RESOURCES={
            "/api/*": {
                "origins": [FRONTEND_ORIGIN],
                "expose_headers": ["X-Response-Time"],
                "max_age": 600,
            }
        },
        # Memory storage for the single dev server; production sets a Redis URL.
        RATELIMIT_DEFAULT="300/minute",
    )
    app.config.from_prefixed_env()
    if config is not None:
        app.config.update(config)

    app.register_blueprint(bp)
    cors.init_app(app)
    limiter.init_app(app)
    timer.init_app(app)  # last, so its total covers the other extensions too
    return app
