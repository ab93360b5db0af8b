"""Rate limits for Flask: exact, atomic, GCRA or windows, in memory or Redis, standard headers."""

from __future__ import annotations

from .breach import Breach
from .errors import RateLimitExceeded, RateLimitNeverAllowed, RateLimitStorageUnavailable
from .extension import LimitOptions, RateLimiter
from .keys import header_key, remote_addr, user_or_remote_addr
from .limits import Limit, parse_limits
from .plan import LimitSpec
from .quota import Quota, current_limits
from .settings import LimiterOptions, LimiterSettings

__version__ = "0.1.0"

__all__ = [
    "Breach",
    "Limit",
    "LimitOptions",
    "LimitSpec",
    "LimiterOptions",
    "LimiterSettings",
    "Quota",
    "RateLimitExceeded",
    "RateLimitNeverAllowed",
    "RateLimitStorageUnavailable",
    "RateLimiter",
    "current_limits",
    "header_key",
    "parse_limits",
    "remote_addr",
    "user_or_remote_addr",
]
