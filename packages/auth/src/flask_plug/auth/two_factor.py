"""The second factor's views, on auth's blueprint: the code step of a login, setting the
factor up (with its recovery codes), and turning it off.

Every view answers 404 while ``AUTH_TWO_FACTOR`` is off.

.. versionadded:: 0.2
"""

from __future__ import annotations

import math
import time
import typing as t

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from ._state import AuthState, current_app_object, get_state
from .login import request_user, unauthorized, user_summary
from .otp import provisioning_uri, qr_svg
from .second_factor import (
    PENDING_KEY,
    complete,
    must_enrol,
    pending_user,
    remember_device,
    two_factor_store,
)
from .security import csrf_token
from .signals import login_failed
from .views import _check_csrf, _form, _json_body, _json_error, blueprint

WRONG_SETUP = "Wrong password or code, or too many attempts. Try again later."
WRONG_CODE = "That code is wrong or was used already, or too many attempts. Try again later."
EXPIRED = "That took too long: log in again."


def _state() -> AuthState:
    state = get_state(current_app)
    if not state.settings.two_factor:
        abort(404)
    return state


def _retry_after(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait)))}


def _reserve(state: AuthState, user_id: t.Any) -> float | None:
    """Count a code attempt against the user and the address, as a password attempt is;
    ``None`` when it may be checked, else the seconds to wait."""
    settings = state.settings
    limits = {
        f"2fa:{user_id}": settings.max_failures,
        f"addr:{request.remote_addr}": settings.max_failures_per_address,
    }
    return state.store.reserve_attempt(limits, settings.failure_window)


def _accepted(state: AuthState, user_id: t.Any) -> None:
    state.store.clear_failures([f"2fa:{user_id}"])
    state.store.release_attempt([f"addr:{request.remote_addr}"])


def _code(form: dict[str, str]) -> str:
    return form.get("code", "")[:100]


# the code step of a login ----------------------------------------------------------------


@blueprint.get("/two-factor")
def two_factor() -> t.Any:
    """The form for the code of a login whose password was right."""
    state = _state()
    found = pending_user(state)
    if found is None or found[1].get("enrol"):
        flash(EXPIRED, "error")
        return redirect(url_for(state.settings.login_view))
    return _render_code_form(state)


def _render_code_form(
    state: AuthState, status: int = 200, headers: dict[str, str] | None = None
) -> t.Any:
    remember_days = state.settings.two_factor_remember_days
    body = render_template("auth/two_factor.html", remember_days=remember_days)
    return body, status, headers or {}


@blueprint.post("/two-factor")
def two_factor_submit() -> t.Any:
    """Check the code (or a recovery code); log in if it is right.

    A script sends JSON ``{"code", "remember_device"?}`` with the token in the
    ``X-CSRF-Token`` header, and is answered as a JSON login is.
    """
    state = _state()
    as_json = request.is_json
    _check_csrf()
    if as_json:
        body = _json_body()
        code = body.get("code")
        form = {"code": code if isinstance(code, str) else ""}
        remember_device_asked = body.get("remember_device") is True
    else:
        form = _form()
        remember_device_asked = form.get("remember_device") == "on"
    found = pending_user(state)
    if found is None or found[1].get("enrol"):
        if as_json:
            return _json_error(EXPIRED, 401)
        flash(EXPIRED, "error")
        return redirect(url_for(state.settings.login_view))
    user, marker = found
    users = state.store.users
    user_id = users.user_id(user)
    app = current_app_object()
    wait = _reserve(state, user_id)
    if wait is not None:
        login_failed.send(app, username=users.login_name(user), reason="throttled")
        if as_json:
            return _json_error(WRONG_CODE, 429, _retry_after(wait))
        flash(WRONG_CODE, "error")
        return _render_code_form(state, 429, _retry_after(wait))
    factors = two_factor_store(state)
    if not factors.use_code(user_id, _code(form), time.time()):
        login_failed.send(app, username=users.login_name(user), reason="two_factor")
        if as_json:
            return _json_error(WRONG_CODE, 401)
        flash(WRONG_CODE, "error")
        return _render_code_form(state, 401)
    _accepted(state, user_id)
    secret = factors.enrolled_secret(user_id)
    target = complete(user, marker)
    if remember_device_asked and state.settings.two_factor_remember_days and secret is not None:
        remember_device(state, user_id, secret)
    if as_json:
        return jsonify(user=user_summary(user), csrf_token=csrf_token())
    return redirect(target)


# setting up and turning off --------------------------------------------------------------


def _setup_user(state: AuthState) -> tuple[t.Any, dict[str, t.Any] | None] | None:
    """The logged-in user, or the user whose login waits for them to set up the factor,
    with that login's marker."""
    user = request_user()
    if user is not None:
        return user, None
    found = pending_user(state)
    if found is not None and found[1].get("enrol"):
        return found
    return None


@blueprint.get("/two-factor/setup")
def two_factor_setup() -> t.Any:
    """Set up the second factor: the secret and its QR code; or, once on, its state."""
    state = _state()
    found = _setup_user(state)
    if found is None:
        return unauthorized()
    return _render_setup(state, found[0], required=found[1] is not None)


def _render_setup(
    state: AuthState,
    user: t.Any,
    *,
    required: bool,
    status: int = 200,
    error: str | None = None,
    headers: dict[str, str] | None = None,
) -> t.Any:
    users = state.store.users
    user_id = users.user_id(user)
    factors = two_factor_store(state)
    context: dict[str, t.Any] = {"required": required, "error": error}
    if factors.enrolled_secret(user_id) is not None:
        context.update(
            enrolled=True,
            codes_left=factors.recovery_codes_left(user_id),
            can_disable=not must_enrol(state, user),
        )
    else:
        secret = factors.pending_secret(user_id)
        uri = provisioning_uri(secret, users.login_name(user), state.settings.two_factor_issuer)
        context.update(enrolled=False, secret=secret, qr=qr_svg(uri))
    return render_template("auth/two_factor_setup.html", **context), status, headers or {}


def _password_ok(state: AuthState, user: t.Any, password: str) -> tuple[bool, float | None]:
    """Whether ``password`` is the user's, counted as a login attempt is; and while
    attempts are refused, the seconds to wait."""
    users = state.store.users
    confirmed, wait = state.attempt_login(users.login_name(user), password)
    ok = confirmed is not None and users.user_id(confirmed) == users.user_id(user)
    return ok, wait


@blueprint.post("/two-factor/setup")
def two_factor_setup_submit() -> t.Any:
    """Turn the factor on with the password and a first code; show the recovery codes once."""
    state = _state()
    form = _form()
    _check_csrf()
    found = _setup_user(state)
    if found is None:
        return unauthorized()
    user, marker = found
    required = marker is not None
    ok, wait = _password_ok(state, user, form.get("password", ""))
    if wait is not None:
        headers = _retry_after(wait)
        return _render_setup(
            state, user, required=required, status=429, error=WRONG_SETUP, headers=headers
        )
    if not ok:
        return _render_setup(state, user, required=required, status=400, error=WRONG_SETUP)
    user_id = state.store.users.user_id(user)
    codes = two_factor_store(state).confirm(user_id, _code(form), time.time())
    if codes is None:
        return _render_setup(state, user, required=required, status=400, error=WRONG_SETUP)
    target = None
    if marker is not None:
        target = complete(user, marker)
    return render_template("auth/two_factor_setup.html", recovery_codes=codes, next=target)


@blueprint.post("/two-factor/disable")
def two_factor_disable() -> t.Any:
    """Turn the factor off, with the password and a code (or a recovery code)."""
    state = _state()
    form = _form()
    _check_csrf()
    user = request_user()
    if user is None:
        return unauthorized()
    if must_enrol(state, user):
        abort(403, description="your role requires two-factor authentication")
    ok, wait = _password_ok(state, user, form.get("password", ""))
    user_id = state.store.users.user_id(user)
    if ok and wait is None:
        wait = _reserve(state, user_id)  # the code is counted as at the login's code step
    if wait is not None:
        return _render_setup(
            state, user, required=False, status=429, error=WRONG_SETUP, headers=_retry_after(wait)
        )
    factors = two_factor_store(state)
    if not ok or not factors.use_code(user_id, _code(form), time.time()):
        return _render_setup(state, user, required=False, status=400, error=WRONG_SETUP)
    _accepted(state, user_id)
    factors.disable(user_id)
    session.pop(PENDING_KEY, None)
    flash("Two-factor authentication is off.", "info")
    return redirect(url_for("auth.two_factor_setup"))
