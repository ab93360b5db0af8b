"""Password reset, registration and change of email address: the views that mail a signed
link, and the views the link leads to. Each feature is off until its ``AUTH_*`` flag is on.

Every link is an :mod:`itsdangerous` token signed with ``SECRET_KEY`` (``SECRET_KEY_FALLBACKS``
are accepted), time-limited, and bound to the state it changes, so it works once: a reset
link to the password hash it replaces, a confirmation to the pending registration, an
address change to the old address.

.. versionadded:: 0.2
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import typing as t

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from itsdangerous import BadSignature, URLSafeTimedSerializer

from . import names, passwords
from ._state import current_app_object, get_state
from .login import request_user, unauthorized, wants_json
from .mail import MAILER_KEY, Mailer, MailSender, get_mailer
from .store import UserExists
from .views import _check_csrf, _form, blueprint

if t.TYPE_CHECKING:
    from datetime import timedelta

    from flask import Flask

    from ._state import AuthState

RESET_SENT = (
    "If an account has that name or address and an email address, a link to set a new"
    " password is on its way there."
)
REGISTER_SENT = "Check your mail: follow the link we sent to finish signing up."
TOO_MANY = "Too many requests. Try again later."
BAD_LINK = "This link is invalid, has expired, or was used already."

MAX_TOKEN_LENGTH = 1000
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MAX_EMAIL_LENGTH = 254


def init_app(app: Flask, state: AuthState, sender: t.Callable[[], MailSender | None]) -> None:
    """Check what the features turned on need, and give ``app`` its mailer.

    :raises ValueError: naming the ``AUTH_*`` key of a feature the app cannot have.
    """
    settings = state.settings
    if not settings.mails or settings.mail is None:
        return
    feature = next(
        key
        for key, on in (
            ("AUTH_PASSWORD_RESET", settings.password_reset),
            ("AUTH_REGISTRATION", settings.registration),
            ("AUTH_EMAIL_CHANGE", settings.email_change),
        )
        if on
    )
    if not app.config.get("SERVER_NAME") and not app.config.get("TRUSTED_HOSTS"):
        raise ValueError(
            f"{feature} mails links to this site: set SERVER_NAME or TRUSTED_HOSTS, so that a"
            " forged Host header cannot make them point to another site"
        )
    users = state.store.users
    for key, on in (
        ("AUTH_PASSWORD_RESET", settings.password_reset),
        ("AUTH_REGISTRATION", settings.registration),
        ("AUTH_EMAIL_CHANGE", settings.email_change),
    ):
        if on:
            try:
                users.column("email")
            except ValueError:
                raise ValueError(f"{key} needs an email column on the user model") from None
    if settings.registration and users.active_column is None:
        raise ValueError("AUTH_REGISTRATION needs an is_active column on the user model")
    app.extensions[MAILER_KEY] = Mailer(settings.mail, sender)


# Tokens ------------------------------------------------------------------------------------


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    # The last key signs; the others are SECRET_KEY_FALLBACKS, accepted after a rotation.
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeTimedSerializer(keys, salt=f"flask-plug-auth.{purpose}")


def make_token(purpose: str, *values: t.Any) -> str:
    return _serializer(purpose).dumps([_jsonable(value) for value in values])


def read_token(purpose: str, token: str, max_age: timedelta) -> list[t.Any] | None:
    """The values signed into ``token`` for ``purpose``, or ``None`` if it is not one or
    is older than ``max_age``."""
    if len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        values = _serializer(purpose).loads(token, max_age=int(max_age.total_seconds()))
    except (BadSignature, ValueError):  # expired (SignatureExpired), forged, or garbled
        return None
    return values if isinstance(values, list) else None


def _jsonable(value: t.Any) -> t.Any:
    """A user id or address as JSON keeps it: UUID and other ids as text."""
    return value if value is None or isinstance(value, (int, str)) else str(value)


def _is_id(value: object) -> bool:
    """Whether a value read from a token can be a user id (as :func:`_jsonable` wrote it)."""
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def fingerprint(password_hash: str) -> str:
    """What a reset link remembers of the password hash: it stops matching once the
    password changes, and tells nothing about the hash."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:32]


# Helpers -----------------------------------------------------------------------------------


def _require(flag: bool) -> None:
    if not flag:
        abort(404)


def _notice(message: str, status: int = 200, headers: dict[str, str] | None = None) -> t.Any:
    """A page (or JSON) saying one thing."""
    if wants_json():
        body: t.Any = jsonify(message=message)
    else:
        login_url = url_for(get_state(current_app).settings.login_view)
        body = render_template("auth/notice.html", message=message, login_url=login_url)
    return body, status, headers or {}


def _page(
    template: str, status: int = 200, errors: t.Sequence[str] = (), **context: t.Any
) -> t.Any:
    """A form page; for a program, the errors as JSON."""
    if wants_json():
        return jsonify(errors=list(errors)), status
    return render_template(template, errors=errors, **context), status


def _link(endpoint: str, token: str) -> str:
    """The absolute URL of a link in a mail: on ``SERVER_NAME`` when it is set, else on the
    request's host (which ``TRUSTED_HOSTS`` vouches for)."""
    server = current_app.config.get("SERVER_NAME")
    if server:
        scheme = current_app.config.get("PREFERRED_URL_SCHEME") or "http"
        return f"{scheme}://{server}{url_for(endpoint, token=token)}"
    return url_for(endpoint, token=token, _external=True)


def _reserve_mail(account: str | None) -> float | None:
    """Count one mail-sending request against the client address and the account as typed
    (``None``: no account); the seconds to wait if either is at its limit."""
    state = get_state(current_app)
    settings = state.settings
    limits = {}
    if account is not None:
        limits[f"mail:{names.username_key(account)}"] = settings.max_mails
    limits[f"mail-addr:{request.remote_addr}"] = settings.max_mails_per_address
    return state.store.reserve_attempt(limits, settings.failure_window)


def _too_many(wait: float) -> t.Any:
    return _notice(TOO_MANY, 429, {"Retry-After": str(max(1, math.ceil(wait)))})


def check_email(value: str) -> str | None:
    """The address, stripped and normalised like a login name, or ``None`` if it is not one."""
    email = names.normalize_username(value)
    if email is None or len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.fullmatch(email):
        return None
    return email


def _email_of(user: t.Any) -> str | None:
    email = getattr(user, "email", None)
    return email if isinstance(email, str) and email else None


def _has_column(field: str) -> bool:
    try:
        get_state(current_app).store.users.column(field)
    except ValueError:
        return False
    return True


def _password_problem(form: dict[str, str]) -> str | None:
    password = form.get("password", "")
    if password != form.get("password2", ""):
        return "The two passwords differ."
    return passwords.check_password_policy(password)


def _mailer() -> Mailer:
    return get_mailer(current_app_object())


# Password reset ----------------------------------------------------------------------------


@blueprint.get("/reset")
def reset_request() -> t.Any:
    """The form asking for the login name or address of the account to reset.

    .. versionadded:: 0.2
    """
    _require(get_state(current_app).settings.password_reset)
    return _page("auth/reset_request.html")


@blueprint.post("/reset")
def reset_request_submit() -> t.Any:
    """Mail a reset link to the account's address, if there is such an account.

    The answer is the same, and takes as long, whether or not there is: the lookup is the
    same, and the mail goes out after the answer.

    .. versionadded:: 0.2
    """
    state = get_state(current_app)
    _require(state.settings.password_reset)
    form = _form()
    _check_csrf()
    name = names.normalize_username(form.get("login", ""))
    wait = _reserve_mail(name)
    if wait is not None:
        return _too_many(wait)
    found = None if name is None else state.store.find_user(name)
    if found is None and name is not None and "@" in name and _has_column("email"):
        user = state.store.find_by_email(name)
        if user is not None:
            password_hash = state.store.password_hash(state.store.users.user_id(user))
            found = None if password_hash is None else (user, password_hash)
    if found is not None:
        user, password_hash = found
        email = _email_of(user)
        if email is not None and state.store.users.is_active(user):
            user_id = state.store.users.user_id(user)
            token = make_token("reset", user_id, fingerprint(password_hash))
            _mailer().mail(
                email,
                "auth/mail/reset.txt",
                user=user,
                name=state.store.users.login_name(user),
                link=_link("auth.reset_password", token),
                lifetime=state.settings.reset_lifetime,
            )
    return _notice(RESET_SENT)


def _reset_target(token: str) -> tuple[t.Any, t.Any, str] | None:
    """The active user a reset link is for, their id and their current password hash; or
    ``None`` if the link is bad, expired, or the password changed since it was sent."""
    state = get_state(current_app)
    values = read_token("reset", token, state.settings.reset_lifetime)
    if values is None or len(values) != 2 or not _is_id(values[0]):
        return None
    user_id, mark = values
    if not isinstance(mark, str):
        return None
    user = state.store.user_by_id(user_id)
    password_hash = None if user is None else state.store.password_hash(user_id)
    if password_hash is None or not hmac.compare_digest(mark, fingerprint(password_hash)):
        return None
    return user, user_id, password_hash


@blueprint.get("/reset/<token>")
def reset_password(token: str) -> t.Any:
    """The form setting a new password, reached from the mailed link.

    .. versionadded:: 0.2
    """
    _require(get_state(current_app).settings.password_reset)
    if _reset_target(token) is None:
        return _notice(BAD_LINK, 400)
    return _page("auth/reset_form.html", token=token)


@blueprint.post("/reset/<token>")
def reset_password_submit(token: str) -> t.Any:
    """Set the new password; every session, remember-me token and API token of the user
    ends. The user is not logged in: they log in with the new password (and any second
    factor the app asks for), which also shows them it works.

    .. versionadded:: 0.2
    """
    state = get_state(current_app)
    _require(state.settings.password_reset)
    form = _form()
    _check_csrf()
    target = _reset_target(token)
    if target is None:
        return _notice(BAD_LINK, 400)
    problem = _password_problem(form)
    if problem is not None:
        return _page("auth/reset_form.html", 400, [problem], token=token)
    user, user_id, password_hash = target
    if not state.store.replace_password(user_id, password_hash, form["password"]):
        return _notice(BAD_LINK, 400)  # another request used the link first
    # Whoever was locked out by wrong guesses has proven control of the mailbox.
    logins = state.store.users.login_names(user)
    state.store.clear_failures([f"user:{names.username_key(login)}" for login in logins])
    message = "Your password has been changed. Log in with the new one."
    if wants_json():
        return jsonify(message=message)
    flash(message, "info")
    return redirect(url_for(state.settings.login_view))


# Registration ------------------------------------------------------------------------------


def _asks_username() -> bool:
    return "username" in get_state(current_app).settings.login_fields


@blueprint.get("/register")
def register() -> t.Any:
    """The sign-up form.

    .. versionadded:: 0.2
    """
    _require(get_state(current_app).settings.registration)
    return _page("auth/register.html", ask_username=_asks_username(), values={})


@blueprint.post("/register")
def register_submit() -> t.Any:
    """Create the user, inactive and pending, and mail them a confirmation link.

    An address that has an account already gets the same answer as a new one (and its
    owner a mail saying so); a user name that is taken is said to be, since the visitor
    must choose another.

    .. versionadded:: 0.2
    """
    state = get_state(current_app)
    _require(state.settings.registration)
    form = _form()
    _check_csrf()
    ask_username = _asks_username()
    values = {"username": form.get("username", ""), "email": form.get("email", "")}
    errors = []
    username = names.normalize_username(values["username"]) if ask_username else None
    if ask_username and username is None:
        errors.append(f"A user name has 1 to {names.MAX_USERNAME_LENGTH} characters.")
    email = check_email(values["email"])
    if email is None:
        errors.append("That is not an email address.")
    problem = _password_problem(form)
    if problem is not None:
        errors.append(problem)
    if errors or email is None:
        return _page("auth/register.html", 400, errors, ask_username=ask_username, values=values)
    wait = _reserve_mail(email)
    if wait is not None:
        return _too_many(wait)
    store = state.store
    existing = store.find_by_email(email)
    if existing is not None:
        passwords.hash_password(form["password"])  # the time creating a user takes
        _mail_existing(existing, email)
        return _notice(REGISTER_SENT)
    fields: dict[str, t.Any] = {}
    if ask_username:
        fields["email"] = email
    elif _has_column("username"):
        fields["username"] = email  # a name column beside the address: the address fills it
    try:
        user = store.create_user(username or email, form["password"], pending=True, **fields)
    except UserExists:
        if not ask_username:  # the address, registered a moment ago
            return _notice(REGISTER_SENT)
        errors = ["That user name is taken: choose another."]
        return _page("auth/register.html", 409, errors, ask_username=True, values=values)
    except ValueError as e:
        return _page("auth/register.html", 400, [str(e)], ask_username=ask_username, values=values)
    _send_confirmation(user, email)
    return _notice(REGISTER_SENT)


def _send_confirmation(user: t.Any, email: str) -> None:
    state = get_state(current_app)
    token = make_token("confirm", state.store.users.user_id(user), email)
    _mailer().mail(
        email,
        "auth/mail/confirm.txt",
        user=user,
        name=state.store.users.login_name(user),
        link=_link("auth.confirm_registration", token),
        lifetime=state.settings.confirm_lifetime,
    )


def _mail_existing(user: t.Any, email: str) -> None:
    """Tell the owner of an address someone signed up with it: their pending account's
    confirmation link again, or that they have an account."""
    state = get_state(current_app)
    store = state.store
    user_id = store.users.user_id(user)
    email = _email_of(user) or email  # as stored: what a confirmation link is checked against
    if store.is_pending(user_id):
        _send_confirmation(user, email)
        return
    reset = url_for("auth.reset_request", _external=False)
    _mailer().mail(
        email,
        "auth/mail/already_registered.txt",
        user=user,
        name=store.users.login_name(user),
        reset_link=_link_path(reset) if state.settings.password_reset else None,
    )


def _link_path(path: str) -> str:
    server = current_app.config.get("SERVER_NAME")
    if server:
        scheme = current_app.config.get("PREFERRED_URL_SCHEME") or "http"
        return f"{scheme}://{server}{path}"
    return request.host_url.rstrip("/") + path


def _confirm_target(token: str) -> t.Any | None:
    state = get_state(current_app)
    values = read_token("confirm", token, state.settings.confirm_lifetime)
    if values is None or len(values) != 2 or not _is_id(values[0]):
        return None
    user_id, email = values
    user = state.store.user_by_id(user_id, active_only=False)
    if user is None or _email_of(user) != email or not state.store.is_pending(user_id):
        return None
    return user_id


@blueprint.get("/register/<token>")
def confirm_registration(token: str) -> t.Any:
    """The page of the confirmation link: a button, so that mail scanners following links
    confirm nothing.

    .. versionadded:: 0.2
    """
    _require(get_state(current_app).settings.registration)
    if _confirm_target(token) is None:
        return _notice(BAD_LINK, 400)
    return _page(
        "auth/confirm.html",
        title="Confirm your account",
        action=url_for("auth.confirm_registration_submit", token=token),
        button="Confirm my account",
    )


@blueprint.post("/register/<token>")
def confirm_registration_submit(token: str) -> t.Any:
    """Activate the user; a second use finds nothing pending and fails.

    .. versionadded:: 0.2
    """
    state = get_state(current_app)
    _require(state.settings.registration)
    _check_csrf()
    user_id = _confirm_target(token)
    if user_id is None or not state.store.confirm_user(user_id):
        return _notice(BAD_LINK, 400)
    message = "Your account is confirmed. Log in."
    if wants_json():
        return jsonify(message=message)
    flash(message, "info")
    return redirect(url_for(state.settings.login_view))


# Change of email ---------------------------------------------------------------------------


@blueprint.get("/email")
def change_email() -> t.Any:
    """The form changing the logged-in user's address; asks for their password.

    .. versionadded:: 0.2
    """
    _require(get_state(current_app).settings.email_change)
    user = request_user()
    if user is None:
        return unauthorized()
    return _page("auth/change_email.html", current=_email_of(user), values={})


@blueprint.post("/email")
def change_email_submit() -> t.Any:
    """Mail a confirmation link to the new address; the address changes when it is
    followed.

    .. versionadded:: 0.2
    """
    state = get_state(current_app)
    _require(state.settings.email_change)
    form = _form()
    _check_csrf()
    user = request_user()
    if user is None:
        return unauthorized()
    users, store = state.store.users, state.store
    user_id, current = users.user_id(user), _email_of(user)
    values = {"email": form.get("email", "")}
    email = check_email(values["email"])
    if email is None or email == current:
        errors = ["That is not a new email address."]
        return _page("auth/change_email.html", 400, errors, current=current, values=values)
    password = form.get("password", "")
    if len(password.encode()) > passwords.MAX_PASSWORD_BYTES:
        abort(400, description="password too long")
    confirmed, wait = state.attempt_login(users.login_name(user), password)
    if wait is not None:
        return _too_many(wait)
    if confirmed is None or users.user_id(confirmed) != user_id:
        errors = ["Wrong password."]
        return _page("auth/change_email.html", 400, errors, current=current, values=values)
    wait = _reserve_mail(users.login_name(user))
    if wait is not None:
        return _too_many(wait)
    other = store.find_by_email(email)
    if other is None or users.user_id(other) == user_id:
        token = make_token("email", user_id, current, email)
        _mailer().mail(
            email,
            "auth/mail/email_confirm.txt",
            user=user,
            name=users.login_name(user),
            link=_link("auth.confirm_email", token),
            lifetime=state.settings.confirm_lifetime,
        )
    # Taken by another account: no mail, and the same answer, so the form cannot be used
    # to find out which addresses have accounts.
    return _notice(
        f"We sent a link to {email}. Your address changes once you follow it.",
    )


def _email_target(token: str) -> tuple[t.Any, t.Any, str | None, str] | None:
    state = get_state(current_app)
    values = read_token("email", token, state.settings.confirm_lifetime)
    if values is None or len(values) != 3 or not _is_id(values[0]):
        return None
    if not isinstance(values[2], str):
        return None
    user_id, old, new = values
    user = state.store.user_by_id(user_id)
    if user is None or _email_of(user) != old:
        return None
    return user, user_id, old, new


@blueprint.get("/email/<token>")
def confirm_email(token: str) -> t.Any:
    """The page of the link mailed to the new address: a button that makes the change.

    .. versionadded:: 0.2
    """
    _require(get_state(current_app).settings.email_change)
    if _email_target(token) is None:
        return _notice(BAD_LINK, 400)
    return _page(
        "auth/confirm.html",
        title="Confirm your new email address",
        action=url_for("auth.confirm_email_submit", token=token),
        button="Use this address",
    )


@blueprint.post("/email/<token>")
def confirm_email_submit(token: str) -> t.Any:
    """Change the address, then tell the old one.

    .. versionadded:: 0.2
    """
    state = get_state(current_app)
    _require(state.settings.email_change)
    _check_csrf()
    target = _email_target(token)
    if target is None:
        return _notice(BAD_LINK, 400)
    user, user_id, old, new = target
    try:
        changed = state.store.set_email(user_id, new, expected=old)
    except (UserExists, ValueError):
        return _notice("Another account uses this address now.", 409)
    if not changed:
        return _notice(BAD_LINK, 400)
    if old is not None:
        _mailer().mail(
            old,
            "auth/mail/email_changed.txt",
            user=user,
            name=state.store.users.login_name(user),
            new=new,
        )
    message = f"Your email address is now {new}."
    if wants_json():
        return jsonify(message=message)
    flash(message, "info")
    return redirect(state.settings.default_next)
