"""The login step after the password: who must give a second factor, the pending login
kept meanwhile, and the cookie of a remembered browser.

.. versionadded:: 0.2
"""

from __future__ import annotations

import hashlib
import time
import typing as t
from datetime import timedelta

from flask import after_this_request, current_app, redirect, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ._state import get_state
from .login import login_user
from .otp import TwoFactorStore

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response

    from ._state import AuthState

PENDING_KEY = "_auth_2fa"
"""The session key of a login waiting for its second factor."""

PENDING_LIFETIME = timedelta(minutes=5)
"""How long the code may take after the password."""

DEVICE_COOKIE = "two_factor_device"


def two_factor_store(state: AuthState) -> TwoFactorStore:
    return TwoFactorStore(state.store)


def must_enrol(state: AuthState, user: t.Any) -> bool:
    """Whether the user's roles require a second factor (``AUTH_TWO_FACTOR_REQUIRED_FOR``)."""
    return bool(state.settings.two_factor_required_for & state.store.users.roles(user))


def needs_second_factor(state: AuthState, user: t.Any) -> bool:
    """Whether the user has a second factor, or their role requires one: a password alone
    does not log them in."""
    if must_enrol(state, user):
        return True
    return two_factor_store(state).enrolled_secret(state.store.users.user_id(user)) is not None


def after_password(user: t.Any, *, remember: bool, next: str) -> Response:
    """Complete a login whose password was right and follow ``next``, or hold it for the
    second factor and send the browser to its page."""
    step = second_step(user, remember=remember, next=next)
    return redirect(next if step is None else url_for(step))


def second_step(user: t.Any, *, remember: bool, next: str) -> str | None:
    """Complete a login whose password was right (``None``), or hold it for the second
    factor and return the endpoint of the step left.

    A user with the second factor on gives a code at ``/two-factor`` first (unless this
    browser is remembered for them); one whose role requires it and who has none sets it up
    at ``/two-factor/setup``. Meanwhile the session holds only a pending marker, which no
    guard takes for a login.
    """
    state = get_state(current_app)
    if state.settings.two_factor:
        user_id = state.store.users.user_id(user)
        secret = two_factor_store(state).enrolled_secret(user_id)
        if secret is not None and not device_remembered(state, user_id, secret):
            hold(user_id, remember=remember, next=next, enrol=False)
            return "auth.two_factor"
        if secret is None and must_enrol(state, user):
            hold(user_id, remember=remember, next=next, enrol=True)
            return "auth.two_factor_setup"
    login_user(user, remember=remember)
    return None


def hold(user_id: t.Any, *, remember: bool, next: str, enrol: bool) -> None:
    """Keep a login pending in a fresh session (nothing planted before survives)."""
    session.clear()
    session[PENDING_KEY] = {
        "user_id": user_id,
        "remember": remember,
        "next": next,
        "enrol": enrol,
        "expires": time.time() + PENDING_LIFETIME.total_seconds(),
    }


def pending() -> dict[str, t.Any] | None:
    """The pending login of this session, if it has not expired (else it is dropped)."""
    marker = session.get(PENDING_KEY)
    if not isinstance(marker, dict):
        return None
    expires = marker.get("expires")
    if not isinstance(expires, (int, float)) or expires <= time.time():
        session.pop(PENDING_KEY, None)
        return None
    return marker


def pending_user(state: AuthState) -> tuple[t.Any, dict[str, t.Any]] | None:
    """The active user of the pending login and its marker."""
    marker = pending()
    if marker is None:
        return None
    user = state.store.user_by_id(marker["user_id"])
    if user is None:
        session.pop(PENDING_KEY, None)
        return None
    return user, marker


def complete(user: t.Any, marker: dict[str, t.Any]) -> str:
    """Log the pending user in (the marker goes with the old session); return ``next``."""
    login_user(user, remember=bool(marker.get("remember")))
    target = marker.get("next")
    return target if isinstance(target, str) else get_state(current_app).settings.default_next


# remembered browsers ---------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt="flask-plug-auth.two-factor-device")


def _fingerprint(secret: str) -> str:
    """What the cookie keeps of the secret: enough to notice a new one, nothing to use."""
    return hashlib.sha256(f"flask-plug-auth.device:{secret}".encode()).hexdigest()[:32]


def device_remembered(state: AuthState, user_id: t.Any, secret: str) -> bool:
    """Whether this browser has a cookie for the user and their current secret."""
    days = state.settings.two_factor_remember_days
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not days or not cookie or len(cookie) > 1000:
        return False
    try:
        value = _serializer().loads(cookie, max_age=days * 86400)
    except BadSignature:
        return False
    return (
        isinstance(value, list)
        and len(value) == 2
        and value[0] == str(user_id)
        and value[1] == _fingerprint(secret)
    )


def remember_device(state: AuthState, user_id: t.Any, secret: str) -> None:
    """Let this browser skip the code step for the user for ``AUTH_TWO_FACTOR_REMEMBER_DAYS``,
    while their secret stays the same."""
    days = state.settings.two_factor_remember_days
    token = _serializer().dumps([str(user_id), _fingerprint(secret)])
    config = current_app.config

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(
            DEVICE_COOKIE,
            token,
            max_age=days * 86400,
            secure=config["SESSION_COOKIE_SECURE"],
            httponly=True,
            samesite=config["SESSION_COOKIE_SAMESITE"] or "Lax",
            path=config["APPLICATION_ROOT"],
        )
        return response
