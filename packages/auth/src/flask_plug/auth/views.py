"""The login and logout views, in a blueprint registered at ``AUTH_URL_PREFIX``."""

from __future__ import annotations

import math
import typing as t

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from . import passwords
from ._state import current_app_object, get_state
from .login import logout_everywhere_else, logout_user, request_user
from .second_factor import after_password
from .security import csrf_valid, safe_next
from .signals import login_failed

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

blueprint = Blueprint("auth", __name__, template_folder="templates")

GENERIC_FAILURE = "Wrong user name or password, or too many attempts. Try again later."
"""The one message for every failed login: it tells an attacker nothing."""

CSP = "Content-Security-Policy"
FRAME_ANCESTORS = "frame-ancestors 'none'"


@blueprint.after_request
def _protect(response: Response) -> Response:
    """Keep auth's own responses out of frames, caches and other sites' ``Referer``.

    Runs for every response of this blueprint's views, their errors (a bad CSRF token,
    429) and redirects included, and for nothing else of the app. A framed login form
    invites clickjacking; a cached one keeps a CSRF token, a cached redirect a session.
    What the app already set on the response wins, except caching: a policy keeps its
    directives (``frame-ancestors`` is added unless it names one), and ``X-Frame-Options``
    and ``Referrer-Policy`` are only added when missing.
    """
    headers = response.headers
    policies = headers.getlist(CSP)
    if not policies:
        headers[CSP] = FRAME_ANCESTORS
    elif not any(_names_frame_ancestors(policy) for policy in policies):
        last = policies[-1].strip().rstrip("; \t")
        headers.setlist(
            CSP, [*policies[:-1], f"{last}; {FRAME_ANCESTORS}" if last else FRAME_ANCESTORS]
        )
    headers.setdefault("X-Frame-Options", "DENY")
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "same-origin")
    if not response.cache_control.no_store:
        headers["Cache-Control"] = "no-store"
    return response


def _names_frame_ancestors(policy: str) -> bool:
    """Whether a policy (or a comma-joined list of them) has a ``frame-ancestors`` directive."""
    directives = policy.replace(",", ";").split(";")
    return any(d.split(None, 1)[:1] == ["frame-ancestors"] for d in map(str.lower, directives))


def _form() -> dict[str, str]:
    try:
        return request.form.to_dict()
    except RequestEntityTooLarge:
        abort(400, description="the form is too large")


def _check_csrf(form: dict[str, str]) -> None:
    if not csrf_valid(form.get("csrf_token")):
        abort(400, description="the form's CSRF token is missing or wrong; reload the page")


def _render_login(status: int = 200, headers: dict[str, str] | None = None) -> t.Any:
    next_target = safe_next(request.values.get("next"), "")
    remember = get_state(current_app).settings.remember_days > 0
    body = render_template("auth/login.html", next=next_target, remember=remember)
    return body, status, headers or {}


@blueprint.get("/login")
def login() -> t.Any:
    """The login form."""
    return _render_login()


@blueprint.post("/login")
def login_submit() -> Response | t.Any:
    """Check the form, then log in and follow ``next`` if it is a path on this site."""
    form = _form()
    _check_csrf(form)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    if len(password.encode()) > passwords.MAX_PASSWORD_BYTES:
        abort(400, description="password too long")  # refused before any hashing
    # A user name no user can have (too long, control characters) is a failed login.
    state = get_state(current_app)
    user, wait = state.attempt_login(username, password)
    app = current_app_object()
    if wait is not None:
        login_failed.send(app, username=username, reason="throttled")
        flash(GENERIC_FAILURE, "error")
        return _render_login(429, {"Retry-After": str(max(1, math.ceil(wait)))})
    if user is None:
        login_failed.send(app, username=username, reason="credentials")
        flash(GENERIC_FAILURE, "error")
        return _render_login(401)
    next_target = safe_next(form.get("next"), state.settings.default_next)
    return after_password(user, remember=form.get("remember") == "on", next=next_target)


@blueprint.post("/logout")
def logout() -> Response:
    """End the login session. POST only, with the form's CSRF token."""
    _check_csrf(_form())
    logout_user()
    return redirect(url_for(get_state(current_app).settings.login_view))


@blueprint.post("/logout-everywhere")
def logout_everywhere() -> Response:
    """End every other session of the current user; this one stays."""
    _check_csrf(_form())
    if request_user() is None:
        abort(401)
    logout_everywhere_else()
    return redirect(
        safe_next(request.form.get("next"), get_state(current_app).settings.default_next)
    )
