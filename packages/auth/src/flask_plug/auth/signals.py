"""Signals sent by the auth extension; the sender is the app."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

logged_in = _signals.signal("flask-plug-auth.logged-in")
"""A user logged in. Keyword argument: ``user``."""

logged_out = _signals.signal("flask-plug-auth.logged-out")
"""A user logged out. Keyword argument: ``user``."""

login_failed = _signals.signal("flask-plug-auth.login-failed")
"""A login failed. Keyword arguments: ``username`` (as typed) and ``reason``
(``"credentials"``, ``"throttled"``, ``"two_factor"``: a wrong second-factor code).

.. versionchanged:: 0.2
    The ``"two_factor"`` reason; ``"throttled"`` also for second-factor codes."""
