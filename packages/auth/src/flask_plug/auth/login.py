"""The login flow of a request: who is logged in, logging in and out, and the answer to
a client that must log in first."""

from __future__ import annotations

import typing as t

from flask import current_app, g, has_request_context, jsonify, redirect, request, session, url_for

from ._state import REMEMBER_COOKIE, SCOPES_KEY, SESSION_KEY, current_app_object, get_state
from .signals import logged_in, logged_out

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response


def request_user() -> t.Any | None:
    """The logged-in user of this request (loaded on first use), or ``None``; also
    ``None`` outside a request."""
    return getattr(g, "user", None) if has_request_context() else None


def user_summary(user: t.Any) -> dict[str, t.Any]:
    """What scripts learn of a user (``/auth/login``'s JSON answer, ``/auth/me``):
    ``{"id", "username", "roles"}`` (the first login name, roles sorted). Nothing secret
    goes in.

    .. versionadded:: 0.2
    """
    users = get_state(current_app).store.users
    return {
        "id": users.user_id(user),
        "username": users.login_name(user),
        "roles": sorted(users.roles(user)),
    }


def current_scopes() -> frozenset[str] | None:
    """The scopes of the API token this request was authenticated with; ``None`` when it
    was not authenticated by a token: a login session, a remember-me cookie, HTTP Basic
    (the user's own credentials, which scopes do not limit), or no login at all.

    A token made without scopes has none: ``frozenset()``, not "all". Loads the user
    like ``current_user`` if that has not happened yet; makes no query of its own.

    .. versionadded:: 0.2
    """
    if request_user() is None:
        return None
    scopes: frozenset[str] | None = g.get(SCOPES_KEY)
    return scopes


def login_user(user: t.Any, *, remember: bool = False) -> None:
    """Start a login session for ``user`` in this request's session cookie.

    The session is cleared first, so nothing planted in it before login survives
    (session fixation).
    """
    state = get_state(current_app)
    user_id = state.store.users.user_id(user)
    session.clear()
    session[SESSION_KEY] = state.store.start_session(user_id, state.settings.session_lifetime)
    state.store.purge_expired(state.settings.failure_window)  # logins are rare: tidy up here
    g.user = user
    g.pop(SCOPES_KEY, None)  # from here on a session login, whatever token came with it
    set_remote_user(user)
    if remember and state.settings.remember_days:
        state.set_remember_cookie(user_id)
    logged_in.send(current_app_object(), user=user)


def logout_user() -> None:
    """End this login session (also for anyone replaying its cookie) and clear the session."""
    state = get_state(current_app)
    user = request_user()
    session_id = session.get(SESSION_KEY)
    if session_id is not None:
        state.store.end_session(session_id)
    if request.cookies.get(REMEMBER_COOKIE):
        state.store.forget_remember_token(request.cookies[REMEMBER_COOKIE])
        state.clear_remember_cookie()
    session.clear()
    g.user = None
    g.pop(SCOPES_KEY, None)
    if user is not None:
        logged_out.send(current_app_object(), user=user)


def logout_everywhere_else() -> None:
    """End every other login session and remember-me token of the current user."""
    user = request_user()
    if user is not None:
        store = get_state(current_app).store
        store.end_other_sessions(store.users.user_id(user), keep=session.get(SESSION_KEY))


def set_remote_user(user: t.Any) -> None:
    """Name the user in ``REMOTE_USER``, where WSGI access logs look for it.

    WSGI strings carry bytes as Latin-1 characters, so the name goes in as UTF-8 bytes.
    """
    name = get_state(current_app).store.users.login_name(user)
    request.environ["REMOTE_USER"] = name.encode().decode("latin-1")


def wants_json() -> bool:
    """Whether the client is a program: it authenticates, sends JSON, prefers JSON, or
    does not ask for HTML by name (browsers name it when they load a page; ``fetch``,
    curl and HTTP libraries send ``*/*`` or nothing). The one JSON-or-HTML decision of auth.
    """
    if "Authorization" in request.headers or request.is_json:
        return True
    accept = request.accept_mimetypes
    if not any(mimetype == "text/html" and quality > 0 for mimetype, quality in accept):
        return True
    best = accept.best_match(["text/html", "application/json"])
    return best == "application/json" and accept[best] > accept["text/html"]


def insufficient_scope(scopes: t.Sequence[str]) -> Response:
    """The answer to an API token that lacks a scope the view needs: 403, with the
    ``insufficient_scope`` challenge of RFC 6750 §3.1 naming every scope needed.

    .. versionadded:: 0.2
    """
    needed = " ".join(scopes)
    response = jsonify(error="insufficient_scope", scopes=list(scopes))
    response.status_code = 403
    realm = get_state(current_app).settings.realm
    response.headers["WWW-Authenticate"] = (
        f'Bearer realm="{realm}", error="insufficient_scope", scope="{needed}"'
    )
    return response


def unauthorized() -> Response:
    """The answer to a client that must log in first: 401 with ``WWW-Authenticate`` for a
    program, a redirect to the login page (with ``next``) for a browser."""
    settings = get_state(current_app).settings
    if wants_json():
        response = jsonify(error="authentication required")
        response.status_code = 401
        challenge = f'Bearer realm="{settings.realm}"'
        if settings.api_basic:
            challenge += f', Basic realm="{settings.realm}", charset="UTF-8"'
        response.headers["WWW-Authenticate"] = challenge
        return response
    target = request.full_path if request.query_string else request.path
    return redirect(url_for(settings.login_view, next=target))
