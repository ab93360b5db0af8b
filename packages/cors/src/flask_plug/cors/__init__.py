"""CORS for Flask that follows the Fetch standard: origins, preflights, ``Vary``, done right."""

from __future__ import annotations

from .decorators import cross_origin
from .extension import CORS
from .policy import CorsPolicy
from .settings import CorsOptions

__version__ = "0.1.0"

__all__ = ["CORS", "CorsOptions", "CorsPolicy", "cross_origin"]
