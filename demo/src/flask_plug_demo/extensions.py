"""The extension objects, created once and registered by :func:`create_app`."""

from __future__ import annotations

from flask_plug.apidocs import APIDocs
from flask_plug.auth import Auth
from flask_plug.cors import CORS
from flask_plug.ratelimit import RateLimiter
from flask_plug.reqlog import RequestLog
from flask_plug.stats import Stats
from flask_plug.timer import Timer

apidocs = APIDocs()
auth = Auth()
cors = CORS()
limiter = RateLimiter()
reqlog = RequestLog()
stats = Stats()
timer = Timer()


@stats.access_check
def admins_only() -> bool:
    """The stats pages are for users with the admin role."""
    from flask import g

    return g.user is not None and g.user.has_role("admin")
