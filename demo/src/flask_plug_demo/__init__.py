"""The Flask-Plug demo: a small notes app that shows every extension at work."""

from __future__ import annotations

from .app import close_app, create_app

__all__ = ["close_app", "create_app"]
