"""The per-app state of auth: its settings and store, and finding the user of a request."""

from __future__ import annotations

import base64
import typing as t
from datetime import timedelta

from flask import after_this_request, current_app, g, request, session

from . import names, passwords

if t.TYPE_CHECKING:
    from flask import Flask
    from werkzeug.wrappers import Response

    from .settings import AuthSettings
    from .store import Store

EXTENSION_KEY = "flask-plug-auth"
SESSION_KEY = "_auth_sid"
REMEMBER_COOKIE = "remember_token"
SCOPES_KEY = "_auth_token_scopes"
"""Where on ``g`` the scopes of a request's API token are kept (absent: no token)."""


def get_state(app: Flask) -> AuthState:
    """The state :meth:`Auth.init_app` left on ``app``.

    :raises RuntimeError: if auth is not registered on ``app``.
    """
    try:
        return t.cast("AuthState", app.extensions[EXTENSION_KEY])
    except KeyError:
        raise RuntimeError(
            "flask-plug-auth is not initialised on this app: call init_app(app) first"
        ) from None


def current_app_object() -> Flask:
    """The app behind ``current_app``, not the proxy: what signals are sent with."""
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


class AuthState:
    """What auth keeps per app: its settings, its store, and whether the login view was
    found (see ``AUTH_LOGIN_VIEW``)."""

    def __init__(self, settings: AuthSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.login_view_checked = False
        self.needs_second_factor: t.Callable[[t.Any], bool] = lambda user: False
        """Whether a user logs in with more than a password; set by ``init_app`` when
        ``AUTH_TWO_FACTOR`` is on."""

    def load_user(self) -> t.Any | None:
        """Find the user of this request: API token, then login session, then remember-me."""
        authorization = request.headers.get("Authorization")
        if authorization:
            return self._user_from_authorization(authorization)
        session_id = session.get(SESSION_KEY)
        if session_id is not None:
            user = self.store.session_user(session_id)
            if user is None:
                session.pop(SESSION_KEY)  # ended elsewhere, or expired
            return user
        token = request.cookies.get(REMEMBER_COOKIE)
        if token and self.settings.remember_days:
            user_id = self.store.use_remember_token(token)
            user = None if user_id is None else self.store.user_by_id(user_id)
            if user is None:
                self.clear_remember_cookie()
                return None
            session.clear()
            session[SESSION_KEY] = self.store.start_session(user_id, self.settings.session_lifetime)
            self.set_remember_cookie(user_id)  # rotated on every use
            return user
        return None

    def _user_from_authorization(self, header: str) -> t.Any | None:
        scheme, _, credentials = header.partition(" ")
        scheme = scheme.lower()
        credentials = credentials.strip()
        if scheme == "bearer" and credentials and len(credentials) < 200:
            found = self.store.token_grant(credentials)
            if found is None:
                return None
            setattr(g, SCOPES_KEY, found[1])
            return found[0]
        if scheme == "basic" and self.settings.api_basic and len(credentials) < 2000:
            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (ValueError, UnicodeDecodeError):
                return None
            username, _, password = decoded.partition(":")
            user, _ = self.attempt_login(username, password)
            if user is not None and self.needs_second_factor(user):
                return None  # a password alone must not do what the login form refuses
            return user
        return None

    def attempt_login(self, username: str, password: str) -> tuple[t.Any | None, float | None]:
        """Check a password against the brute-force limits: ``(user, None)`` on success,
        ``(None, None)`` on failure, ``(None, seconds)`` while attempts are refused.

        The attempt is counted as a failure against the account and the client address
        before the password is checked (an atomic increment-and-read in the database), so
        concurrent guesses cannot all pass a check made before any of them is recorded.
        A success takes the address's count back and resets the account's, so an
        attacker's own login does not reset the address count of their other guesses.
        A name no user can have is a failure counted against the address only.
        """
        settings = self.settings
        name = names.normalize_username(username)
        address_key = f"addr:{request.remote_addr}"
        limits = {address_key: settings.max_failures_per_address}
        if name is not None:
            # The account's key first, always: every transaction locks rows in one order.
            limits = {f"user:{names.username_key(name)}": settings.max_failures, **limits}
        wait = self.store.reserve_attempt(limits, settings.failure_window)
        if wait is not None:
            return None, wait
        if name is None:
            passwords.verify(None, password)  # the same time as any failure
            return None, None
        user = self.check_credentials(name, password)
        if user is not None:
            self.store.clear_failures([f"user:{names.username_key(name)}"])
            self.store.release_attempt([address_key])
        return user, None

    def check_credentials(self, username: str, password: str) -> t.Any | None:
        """The active user whose login name (any of ``AUTH_LOGIN_FIELDS``, in any case) and
        password these are, else ``None``; every failure takes as long."""
        if len(password.encode()) > passwords.MAX_PASSWORD_BYTES:
            return None
        found = self.store.find_user(username)  # None, without a query, for invalid names
        # Unknown users are checked against a dummy hash: the same work, the same time.
        if not passwords.verify(None if found is None else found[1], password) or found is None:
            return None
        user, password_hash = found
        if not self.store.users.is_active(user):
            return None
        if passwords.needs_rehash(password_hash):
            self.store.rehash(self.store.users.user_id(user), password)
        return user

    def set_remember_cookie(self, user_id: t.Any) -> None:
        lifetime = timedelta(days=self.settings.remember_days)
        token = self.store.issue_remember_token(user_id, lifetime)
        config = current_app.config

        @after_this_request
        def set_cookie(response: Response) -> Response:
            response.set_cookie(
                REMEMBER_COOKIE,
                token,
                max_age=int(lifetime.total_seconds()),
                secure=config["SESSION_COOKIE_SECURE"],
                httponly=True,
                samesite=config["SESSION_COOKIE_SAMESITE"] or "Lax",
                path=config["APPLICATION_ROOT"],
            )
            return response

    def clear_remember_cookie(self) -> None:
        @after_this_request
        def clear(response: Response) -> Response:
            response.delete_cookie(REMEMBER_COOKIE, path=current_app.config["APPLICATION_ROOT"])
            return response
