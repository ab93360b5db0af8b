"""The demo's pages and JSON API."""

from __future__ import annotations

import typing as t

from flask import Blueprint, abort, g, render_template, request

from flask_plug.auth import csrf_valid

from .extensions import auth, limiter, reqlog, timer

bp = Blueprint("demo", __name__)

NOTES: list[dict[str, t.Any]] = [
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
        return render_template("home.html", notes=load_notes(), access_log=reqlog.settings().output)


@bp.get("/notes")
@auth.login_required
def notes_page() -> str:
    """The notes, for logged-in users."""
    return render_template("notes.html", notes=load_notes())


@bp.route("/account", methods=["GET", "POST"])
@auth.login_required
def account() -> str:
    """The user's page: create an API token, shown once."""
    token = None
    if request.method == "POST":
        if not csrf_valid(request.form.get("csrf_token")):
            abort(400, description="the form's CSRF token is missing or wrong; reload the page")
        token = auth.create_token(g.user, name=request.form.get("name", "demo")[:100] or "demo")
    return render_template("account.html", token=token)


@bp.get("/admin")
@auth.roles_required("admin")
def admin() -> str:
    """Admins only: the users."""
    return render_template("admin.html", users=auth.store.list_users())


@bp.get("/cors")
def cors_demo() -> str:
    """A page that calls the API from another origin."""
    return render_template("cors.html")


@bp.get("/api/notes")
def list_notes() -> dict[str, object]:
    """The notes as JSON."""
    return {"notes": load_notes()}


@bp.post("/api/notes")
@limiter.limit("5/minute")
@auth.login_required
def add_note() -> tuple[dict[str, object], int]:
    """Add a note (kept in memory, the 50 newest); needs a login or an API token."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("title"), str):
        abort(400, description='send JSON like {"title": "...", "body": "..."}')
    note = {"id": max(n["id"] for n in NOTES) + 1, "title": data["title"][:200]}
    note["body"] = str(data.get("body", ""))[:2000]
    note["author"] = g.user.username
    NOTES.append(note)
    del NOTES[:-50]
    return note, 201
