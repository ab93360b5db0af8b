"""The extension objects, created once and registered by :func:`create_app`."""

from __future__ import annotations

from flask_plug.auth import Auth
from flask_plug.cors import CORS
from flask_plug.ratelimit import RateLimiter
from flask_plug.timer import Timer

auth = Auth()
cors = CORS()
limiter = RateLimiter()
timer = Timer()
