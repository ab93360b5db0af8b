"""Signals sent by the timer."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

request_timed = _signals.signal("flask-plug-timer.request-timed")
"""Sent once per timed request, when the response starts, while the request is still active.

The sender is the app. Keyword arguments: ``duration`` (seconds, float), ``status``
(the response status code, int) and ``spans`` (a tuple of :class:`SpanTiming`).
"""
