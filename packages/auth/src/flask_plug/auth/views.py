"""The login and logout views, in a blueprint registered at ``AUTH_URL_PREFIX``."""

from __future__ import annotations

import json
import math
import typing as t

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import RequestEntityTooLarge

from . import passwords
from ._state import current_app_object, get_state
from .login import (
    logout_everywhere_else,
    logout_user,
    request_user,
    unauthorized,
    user_summary,
)
from .second_factor import after_password, second_step
from .security import (
    CSRF_HEADER,
    csrf_token,
    csrf_valid,
    refuse_csrf,
    safe_next,
    submitted_csrf_token,
)
from .signals import login_failed

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

blueprint = Blueprint("auth", __name__, template_folder="templates")

GENERIC_FAILURE = "Wrong user name or password, or too many attempts. Try again later."
"""The one message for every failed login: it tells an attacker nothing."""

CSP = "Content-Security-Policy"
FRAME_ANCESTORS = "frame-ancestors 'none'"

MAX_JSON_LOGIN_BYTES = 16 * 1024

SECOND_FACTOR_REQUIRED = "a second factor is required: post the code to two_factor"
"""The 401 of a JSON login whose password was right, for a user with the second factor."""
"""The largest JSON login body read: a name, a password of up to 1024 bytes (6 bytes
per character when escaped) and a flag fit many times over."""


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


def _check_csrf() -> None:
    """Auth's own views take the token from the header or the form field, and exempt no
    request: with ``Authorization`` or without, logging in or out must come from a page
    of this site."""
    if not csrf_valid(submitted_csrf_token()):
        refuse_csrf()


def _from_script() -> bool:
    """Whether a script sent the request: forms cannot set the CSRF header."""
    return CSRF_HEADER in request.headers


def _json_error(
    message: str,
    status: int,
    headers: dict[str, str] | None = None,
    *,
    body: dict[str, t.Any] | None = None,
) -> Response:
    response = jsonify(error=message, **(body or {}))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _render_login(status: int = 200, headers: dict[str, str] | None = None) -> t.Any:
    next_target = safe_next(request.values.get("next"), "")
    settings = get_state(current_app).settings
    body = render_template(
        "auth/login.html",
        next=next_target,
        remember=settings.remember_days > 0,
        reset=settings.password_reset,
        register=settings.registration,
    )
    return body, status, headers or {}


@blueprint.get("/login")
def login() -> t.Any:
    """The login form."""
    return _render_login()


@blueprint.get("/csrf")
def csrf() -> Response:
    """``{"csrf_token": ...}``: the token of this session, for scripts to send back in
    the ``X-CSRF-Token`` header.

    .. versionadded:: 0.2
    """
    return jsonify(csrf_token=csrf_token())


@blueprint.get("/me")
def me() -> Response:
    """The logged-in user as JSON (see :func:`.user_summary`), or the 401 of
    :func:`.unauthorized`.

    .. versionadded:: 0.2
    """
    user = request_user()
    if user is None:
        return unauthorized()
    return jsonify(user_summary(user))


@blueprint.post("/login")
def login_submit() -> Response | t.Any:
    """Check the form, then log in and follow ``next`` if it is a path on this site.

    A JSON body (``{"username", "password", "remember"?}``, with the token in the
    ``X-CSRF-Token`` header) is answered with JSON instead: see :func:`_login_json`.

    .. versionchanged:: 0.2
        JSON logins; the token may come in the ``X-CSRF-Token`` header.
    """
    if request.is_json:
        return _login_json()
    form = _form()
    _check_csrf()
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


def _login_json() -> Response:
    """Log in a script: 200 ``{"user": ..., "csrf_token": ...}``, or ``{"error": ...}``
    with 400 (a bad token or body), 401 (the generic failure) or 429 (``Retry-After``).

    The token must come in the header: a form on another site can post a body that
    looks like JSON, but it cannot set a header. Login clears the session, and the
    token with it, so the answer carries the new session's token.
    """
    if not csrf_valid(request.headers.get(CSRF_HEADER)):
        refuse_csrf()
    body = _json_body()
    username, password, remember = (body.get(k) for k in ("username", "password", "remember"))
    if not isinstance(username, str) or not isinstance(password, str):
        return _json_error("username and password must be strings", 400)
    if remember is not None and not isinstance(remember, bool):
        return _json_error("remember must be true or false", 400)
    try:
        # JSON may escape a lone surrogate ("\ud800"), which no UTF-8 text holds.
        username.encode()
        password_size = len(password.encode())
    except UnicodeEncodeError:
        return _json_error("username and password must be valid Unicode text", 400)
    if password_size > passwords.MAX_PASSWORD_BYTES:
        return _json_error("password too long", 400)  # refused before any hashing
    username = username.strip()
    state = get_state(current_app)
    user, wait = state.attempt_login(username, password)
    app = current_app_object()
    if wait is not None:
        login_failed.send(app, username=username, reason="throttled")
        return _json_error(GENERIC_FAILURE, 429, {"Retry-After": str(max(1, math.ceil(wait)))})
    if user is None:
        login_failed.send(app, username=username, reason="credentials")
        return _json_error(GENERIC_FAILURE, 401)
    step = second_step(user, remember=bool(remember), next=state.settings.default_next)
    if step is not None:
        # The session now holds only the pending login: a new session, so a new token.
        return _json_error(
            SECOND_FACTOR_REQUIRED,
            401,
            body={"two_factor": url_for(step), "csrf_token": csrf_token()},
        )
    return jsonify(user=user_summary(user), csrf_token=csrf_token())


def _json_body() -> dict[str, t.Any]:
    """The login body as a JSON object, read up to :data:`MAX_JSON_LOGIN_BYTES`; any
    other body aborts with a 400 JSON answer."""
    length = request.content_length
    if length is not None and length > MAX_JSON_LOGIN_BYTES:
        abort(_json_error("the body is too large", 400))
    # No length (a chunked body): read no more than the limit allows.
    data = (
        request.get_data() if length is not None else request.stream.read(MAX_JSON_LOGIN_BYTES + 1)
    )
    if len(data) > MAX_JSON_LOGIN_BYTES:
        abort(_json_error("the body is too large", 400))
    try:
        body = json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        abort(_json_error("the body is not valid JSON", 400))
    if not isinstance(body, dict):
        abort(_json_error("the body must be a JSON object", 400))
    return body


def _refuse_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not JSON")


@blueprint.post("/logout")
def logout() -> Response:
    """End the login session. POST only, with the CSRF token in the form or the
    ``X-CSRF-Token`` header; a script (that sent the header) gets 204, a form the
    redirect to the login page.

    .. versionchanged:: 0.2
        The ``X-CSRF-Token`` header, and 204 for scripts.
    """
    _check_csrf()
    logout_user()
    if _from_script():
        return current_app.response_class(status=204)
    return redirect(url_for(get_state(current_app).settings.login_view))


@blueprint.post("/logout-everywhere")
def logout_everywhere() -> Response:
    """End every other session of the current user; this one stays. A script gets 204
    (or the 401 JSON of :func:`.unauthorized`), a form a redirect to ``next``.

    .. versionchanged:: 0.2
        The ``X-CSRF-Token`` header, and 204 for scripts.
    """
    _check_csrf()
    if request_user() is None:
        if _from_script():
            return unauthorized()
        abort(401)
    logout_everywhere_else()
    if _from_script():
        return current_app.response_class(status=204)
    return redirect(
        safe_next(request.form.get("next"), get_state(current_app).settings.default_next)
    )
