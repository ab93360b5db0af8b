"""Request timing for Flask: ``Server-Timing`` with named spans, ``X-Response-Time``, logs."""

from __future__ import annotations

from .extension import Timer
from .settings import TimerOptions, TimerSettings
from .signals import request_timed
from .spans import Span, SpanTiming

__version__ = "0.1.0"

__all__ = ["Span", "SpanTiming", "Timer", "TimerOptions", "TimerSettings", "request_timed"]
