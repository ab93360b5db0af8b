"""The Flask-Plug demo: a small notes app that shows every extension at work."""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
