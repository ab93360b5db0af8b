"""The demo's pages and JSON API."""

from __future__ import annotations

import functools
import math
import threading
import typing as t

from flask import Blueprint, Response, abort, g, jsonify, render_template, request
from pydantic import BaseModel, Field
from typing_extensions import TypedDict
from werkzeug.exceptions import HTTPException

from flask_plug.auth import WrongPassword, csrf_valid
from flask_plug.ratelimit import user_or_remote_addr

from .extensions import apidocs, auth, limiter, reqlog, timer

bp = Blueprint("demo", __name__)

PAGE_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        # The CORS page calls the API under its other name, 127.0.0.1 (any port).
        "connect-src 'self' http://127.0.0.1:* https://127.0.0.1:*",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
"""The demo pages' Content-Security-Policy: scripts and styles from the demo's own static
files only, nothing inline, no framing."""


# typing_extensions' TypedDict: pydantic, which apidocs validates and serialises with,
# cannot read typing's before Python 3.12.
class _NoteFields(TypedDict):
    id: int
    title: str
    body: str


class Note(_NoteFields, total=False):
    """A note, as the API returns it; notes added through the API have an author."""

    author: str


class NewNote(BaseModel):
    """What to send to create a note."""

    title: t.Annotated[str, Field(min_length=1, max_length=200)]
    body: t.Annotated[str, Field(max_length=2000)] = ""


class NoteList(TypedDict):
    notes: list[Note]


class APIError(TypedDict):
    """An error, as the API reports it."""

    error: str


NOTES: list[Note] = [
    {"id": 1, "title": "Try the timer", "body": "Open the network panel and look at Timing."},
    {"id": 2, "title": "Read the docs", "body": "Every package has a page on the docs site."},
]


_NOTES_LOCK = threading.Lock()

TOKEN_SCOPES = {
    "notes:read": "read the notes page (GET /notes)",
    "notes:write": "add notes (POST /api/notes)",
}
"""The scopes an API token can be given on the Account page, with what each allows."""


@timer.span("notes.load", desc="read notes")
def load_notes() -> list[Note]:
    return list(NOTES)


@bp.after_request
def protect_pages(response: Response) -> Response:
    """Give the demo's HTML pages a strict policy; the JSON API needs none."""
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.get("/")
def home() -> str:
    """The home page: what to click to see each extension at work."""
    with timer.span("render", desc="home page"):
        return render_template("home.html", notes=load_notes(), access_log=reqlog.settings().output)


@bp.get("/notes")
@auth.scopes_required("notes:read")
def notes_page() -> str:
    """The notes, for logged-in users (and API tokens with the notes:read scope)."""
    return render_template("notes.html", notes=load_notes())


@bp.route("/account", methods=["GET", "POST"])
@auth.login_required
def account() -> str | tuple[str, int]:
    """The user's page: create an API token with the scopes ticked, shown once; set up
    two-factor login.

    A token outlives the session that made it, so making one asks for the password
    again: someone who finds a logged-in browser, or steals its cookie, cannot mint one.
    Wrong passwords count towards auth's lockout, as at the login form.
    """
    page = functools.partial(
        render_template,
        "account.html",
        scopes=TOKEN_SCOPES,
        two_factor=auth.two_factor_enabled(g.user),
    )
    if request.method == "GET":
        return page(chosen=list(TOKEN_SCOPES))
    if not csrf_valid(request.form.get("csrf_token")):
        abort(400, description="the form's CSRF token is missing or wrong; reload the page")
    name = request.form.get("name", "demo")[:100] or "demo"
    chosen = request.form.getlist("scope")
    if not set(chosen) <= TOKEN_SCOPES.keys():
        return page(chosen=[], error="Choose scopes from the list."), 400
    try:
        token = auth.create_token(
            g.user, name, scopes=chosen, password=request.form.get("password", "")
        )
    except WrongPassword as refused:
        if refused.retry_after is not None:
            error = f"Too many wrong passwords; try again in {math.ceil(refused.retry_after)} s."
            return page(chosen=chosen, error=error), 429
        return page(chosen=chosen, error="That is not your password."), 400
    return page(chosen=chosen, token=token, token_scopes=sorted(set(chosen)))


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
def list_notes() -> NoteList:
    """The notes, oldest first."""
    return {"notes": load_notes()}


@bp.post("/api/notes")
# Counted per logged-in user, so people behind one address (an office, a proxy) do not
# share a limit; by address for requests without a user.
@limiter.limit("5/minute", key_func=user_or_remote_addr)
# A login session may; an API token only with the notes:write scope.
@auth.scopes_required("notes:write")
@apidocs.doc(status=201, responses={413: APIError})
@apidocs.validate
def add_note(body: NewNote) -> Note:
    """Add a note.

    Notes are kept in memory, the 50 newest. Create an API token on the Account page.
    """
    with _NOTES_LOCK:  # gunicorn's gthread workers run requests in threads
        note: Note = {
            "id": max(n["id"] for n in NOTES) + 1,
            "title": body.title,
            "body": body.body,
            "author": g.user.username,
        }
        NOTES.append(note)
        del NOTES[:-50]
    return note


@bp.app_errorhandler(HTTPException)
def api_error(error: HTTPException) -> Response | HTTPException:
    """Errors of the JSON API are JSON, as its document says; pages keep Flask's HTML."""
    if not request.path.startswith("/api/"):
        return error  # a page: Flask's HTML
    default = error.get_response()
    if default.mimetype != "text/html":
        return error  # an error with a body of its own (ratelimit's 429)
    response = jsonify(error=error.description)
    response.status_code = default.status_code
    for name, value in default.headers.items():  # Allow, WWW-Authenticate …
        if name not in ("Content-Type", "Content-Length"):
            response.headers[name] = value
    return response
