"""The demo's pages and JSON API."""

from __future__ import annotations

from flask import Blueprint, render_template

from .extensions import timer

bp = Blueprint("demo", __name__)

NOTES = [
    {"id": 1, "title": "Try the timer", "body": "Open the network panel and look at Timing."},
    {"id": 2, "title": "Read the docs", "body": "Every package has a page on the docs site."},
]


@timer.span("notes.load", desc="read notes")
def load_notes() -> list[dict[str, object]]:
    return list(NOTES)


@bp.get("/")
def home() -> str:
    """The home page: what to click to see each extension at work."""
    with timer.span("render", desc="home page"):
        return render_template("home.html", notes=load_notes())


@bp.get("/api/notes")
def list_notes() -> dict[str, object]:
    """The notes as JSON."""
    return {"notes": load_notes()}
