"""The :class:`Auth` extension: registering on an app, users and tokens, guarding views."""

from __future__ import annotations

import functools
import typing as t

from flask import (
    abort,
    current_app,
    has_request_context,
    jsonify,
    make_response,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from sqlalchemy import Engine, inspect
from sqlalchemy.exc import ArgumentError
from werkzeug.local import LocalProxy
from werkzeug.routing import BuildError

from . import names, passwords, recovery, two_factor  # noqa: F401 (two_factor: its views)
from ._state import EXTENSION_KEY, SESSION_KEY, AuthState, get_state
from .cli import auth_cli
from .database import hide_password, open_engine
from .login import (
    current_scopes,
    insufficient_scope,
    login_user,
    logout_everywhere_else,
    logout_user,
    request_user,
    set_remote_user,
    unauthorized,
    wants_json,
)
from .otp import TwoFactorStore, require_extra
from .second_factor import needs_second_factor
from .security import check_csrf, csrf_token
from .settings import AuthOptions, AuthSettings, check_lifetime, check_secret_key, resolve
from .store import Store
from .users import BuiltinUsers, ModelUsers, Users
from .views import blueprint

if t.TYPE_CHECKING:
    from datetime import timedelta

    from flask import Flask, Request
    from sqlalchemy.orm import scoped_session
    from typing_extensions import Unpack

    from .database import Deadlines
    from .mail import MailSender

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


current_user: t.Any = LocalProxy(request_user)
"""The logged-in user of this request (a :class:`User`, or an instance of the app's
``user_model``); loaded on first use.

A proxy: test it with ``if current_user:`` (or use ``g.user``, which is the user or
``None``), not with ``is None``.
"""


class WrongPassword(Exception):
    """The password given to confirm an action is not the user's, or too many attempts
    were made: then :attr:`retry_after` says for how many seconds none will be checked.

    .. versionadded:: 0.2
    """

    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("wrong password, or too many attempts; try again later")
        self.retry_after = retry_after
        """Seconds until the password may be tried again; ``None`` if it was just wrong."""


class Auth:
    """Users, password login, login sessions and API tokens, with every dangerous
    default closed.

    Options given here apply to every app this object is registered on; options given to
    :meth:`init_app` apply to that app; an option not given is read from the ``AUTH_*``
    config key of the same name, then falls back to its default (see the docs' table).

    :param app: the app to register on now; or call :meth:`init_app` later.
    :param engine: a SQLAlchemy engine the app already has; else ``AUTH_DATABASE_URI``
        (default: SQLite in the instance folder) is opened, with ``AUTH_DB_TIMEOUT``
        applied to it. Give your own engine timeouts yourself (see the docs: "Database
        timeouts").
    :param user_model: the app's own SQLAlchemy user model, instead of the built-in
        table (see :class:`~flask_plug.auth.ModelUsers` for what it must have).
        Auth's tables go in the model's database.
    :param session: with ``user_model``, the app's ``scoped_session`` (Flask-SQLAlchemy's
        ``db.session``; register Flask-SQLAlchemy first): request users are attached to
        it, and without ``engine`` its engine is used.

    .. versionadded:: 0.2
        The ``token_lifetime``, ``db_timeout`` and ``login_fields`` options (see
        :class:`AuthOptions`); ``user_model`` and ``session``.

    .. versionchanged:: 0.2
        The engine auth opens has timeouts; database outages answer 503
        (:class:`DatabaseUnavailable`).

    .. versionchanged:: 0.2
        An ``AUTH_*`` config key set to ``None`` means its default.

    .. versionchanged:: 0.2
        Methods used in an app auth is not registered on raise ``RuntimeError``, not
        ``KeyError``.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        engine: Engine | None = None,
        user_model: type[t.Any] | None = None,
        session: scoped_session[t.Any] | None = None,
        **options: Unpack[AuthOptions],
    ) -> None:
        self._engine = engine
        self._user_model = user_model
        self._session = session
        self._options = options
        self._mail_sender: MailSender | None = None
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: Flask,
        *,
        engine: Engine | None = None,
        user_model: type[t.Any] | None = None,
        session: scoped_session[t.Any] | None = None,
        **options: Unpack[AuthOptions],
    ) -> None:
        """Register on ``app``.

        :raises RuntimeError: if ``SECRET_KEY`` is missing, short or a known placeholder,
            or if auth is already registered on ``app``.
        :raises ValueError: naming the config key, for any bad value.

        .. versionchanged:: 0.2
            Refuses a ``SECRET_KEY`` or ``SECRET_KEY_FALLBACKS`` key that does not look random.
        """
        if EXTENSION_KEY in app.extensions:
            raise RuntimeError(
                "flask-plug-auth is already registered on this app; call init_app once per app"
            )
        check_secret_key(app)
        engine = engine or self._engine
        user_model = user_model or self._user_model
        session = session or self._session
        if user_model is None and session is not None:
            raise ValueError("session= is for the app's user_model; give user_model too")
        if user_model is not None and engine is None:
            if session is None:
                raise ValueError(
                    "user_model needs the engine of its database: give engine= or session="
                )
            with app.app_context():  # Flask-SQLAlchemy finds its engine in the app's context
                bind = session.get_bind(mapper=inspect(user_model))
            engine = bind if isinstance(bind, Engine) else bind.engine
        settings = resolve(app, {**self._options, **options}, need_database_uri=engine is None)
        if settings.two_factor:
            require_extra()
        users: Users
        if user_model is None:
            users = BuiltinUsers(settings.login_fields)
        else:
            users = ModelUsers(user_model, settings.login_fields, session)
            if session is not None:
                app.teardown_appcontext(lambda error: session.remove())
        deadlines = None
        if engine is None:
            engine, deadlines = _open_engine(settings)
        state = AuthState(settings, Store(engine, users=users, deadlines=deadlines))
        if settings.two_factor:
            state.needs_second_factor = functools.partial(needs_second_factor, state)
        recovery.init_app(app, state, lambda: self._mail_sender)
        app.extensions[EXTENSION_KEY] = state
        _check_login_view_once(app, state)
        _warn_about_cookies(app)
        _make_user_lazy(app)
        if type(app.session_interface) is SecureCookieSessionInterface:
            app.session_interface = _CookieSessionInterface()
        app.register_blueprint(blueprint, url_prefix=settings.url_prefix)
        app.cli.add_command(auth_cli)
        app.jinja_env.globals.setdefault("csrf_token", csrf_token)

    def mail_sender(self, sender: MailSender) -> MailSender:
        """Send auth's mails with ``sender`` instead of SMTP (``AUTH_MAIL_SERVER``), in
        every app this object is registered on; use as a decorator.

        ``sender`` gets an :class:`~email.message.EmailMessage` with ``From``, ``To`` and
        ``Subject`` set, after the request's answer has gone out, inside an app context.
        What it raises is logged (once until a mail goes through) and never reaches the
        client.

        .. versionadded:: 0.2
        """
        self._mail_sender = sender
        return sender

    @property
    def store(self) -> Store:
        """The current app's user store (tables, users, sessions, tokens)."""
        return get_state(current_app).store

    def register_user(
        self, username: str, password: str, /, roles: t.Iterable[str] = (), **fields: t.Any
    ) -> t.Any:
        """Create a user.

        The name goes in the first of ``AUTH_LOGIN_FIELDS``, stored NFKC-normalised and
        stripped; it may have 1 to 150 characters after that, also when case-folded. Each
        role is one name: ASCII letters, digits, ``_``, ``.``, ``:`` and ``-``. ``fields``
        fill other columns: ``email`` in the built-in table, any column of your model.

        :raises ValueError: if the name is invalid or taken (in any case), a role name is
            invalid, a field is not a column, or the password too short or long.

        .. versionchanged:: 0.2
            User names are normalised and unique in any case; role names are checked;
            ``fields``.
        """
        username = names.check_username(username)
        roles = names.check_roles(roles)
        problem = passwords.check_password_policy(password)
        if problem is not None:
            raise ValueError(problem)
        return get_state(current_app).store.create_user(username, password, roles, **fields)

    def check_credentials(self, username: str, password: str) -> t.Any | None:
        """The active user if the password is theirs, else ``None``; both cases take as long.

        The name is looked up in every one of ``AUTH_LOGIN_FIELDS``, in any case. A hash
        made with older parameters (or by Werkzeug) is replaced on success.

        .. versionchanged:: 0.2
            Any login field, any case; inactive users are refused.
        """
        return get_state(current_app).check_credentials(username, password)

    def login_user(self, user: t.Any, *, remember: bool = False) -> None:
        """Start a login session for ``user`` in this request's session cookie.

        The session is cleared first, so nothing planted in it before login survives
        (session fixation). ``remember`` also sets a remember-me cookie when
        ``AUTH_REMEMBER_DAYS`` is above 0.
        """
        login_user(user, remember=remember)

    def logout_user(self) -> None:
        """End this login session (also for anyone replaying its cookie); clear the session."""
        logout_user()

    def logout_everywhere_else(self) -> None:
        """End every other login session and remember-me token of the current user, and
        revoke all of their API tokens: "everywhere" is every credential but this session.

        .. versionchanged:: 0.2
            API tokens are revoked too.
        """
        logout_everywhere_else()

    def change_password(self, user: t.Any, password: str) -> None:
        """Set a new password, end the user's other sessions (this one stays) and
        remember-me tokens, and revoke all of their API tokens.

        :raises ValueError: if the password is too short or too long.

        .. versionchanged:: 0.2
            API tokens are revoked too.
        """
        problem = passwords.check_password_policy(password)
        if problem is not None:
            raise ValueError(problem)
        store = get_state(current_app).store
        user_id = store.users.user_id(user)
        current = request_user()
        keep = (
            session.get(SESSION_KEY)
            if current is not None and store.users.user_id(current) == user_id
            else None
        )
        store.set_password(user_id, password, keep_session=keep)

    def two_factor_enabled(self, user: t.Any) -> bool:
        """Whether ``user`` has turned the second factor on (see ``AUTH_TWO_FACTOR``).

        .. versionadded:: 0.2
        """
        store = get_state(current_app).store
        return TwoFactorStore(store).enrolled_secret(store.users.user_id(user)) is not None

    def disable_two_factor(self, user: t.Any) -> bool:
        """Turn ``user``'s second factor off, without a code: for an administrator helping
        someone who lost both their authenticator and their recovery codes. Their secret,
        recovery codes and remembered browsers are void; they set it up again after their
        next login (at once, if their role requires it).

        :return: whether it was on.

        .. versionadded:: 0.2
        """
        store = get_state(current_app).store
        return TwoFactorStore(store).disable(store.users.user_id(user))

    def create_token(
        self,
        user: t.Any,
        name: str = "api",
        *,
        scopes: t.Iterable[str] = (),
        lifetime: timedelta | float | None = None,
        password: str | None = None,
    ) -> str:
        """Create an API token for ``user``; it is returned once and stored only hashed.

        The token works until it expires or is revoked: by ``flask auth revoke-token``, or
        with all of the user's tokens when they change password, log out everywhere else,
        or a copy of their remember-me cookie is used.

        :param name: what the token is for, as listed; 1 to 100 characters.
        :param scopes: what the token may be used for: the scope names that views guarded
            by :meth:`scopes_required` ask for (same alphabet as role names). A token
            made without scopes has none, not all: it reaches only views that need no
            scope. Scopes limit the token, never add to what its user may do.
        :param lifetime: how long it works, a :class:`~datetime.timedelta` or seconds;
            by default ``AUTH_TOKEN_LIFETIME`` (whose default is: until revoked).
        :param password: the user's password, asked again so that an unattended or stolen
            session cannot mint a credential that outlives it. Checked like a login
            inside a request: a wrong one counts towards ``AUTH_MAX_FAILURES`` and
            ``AUTH_MAX_FAILURES_PER_ADDRESS``, and while they are reached none is checked.
        :raises WrongPassword: if ``password`` is given and is not the user's, or attempts
            are refused for now (see :attr:`WrongPassword.retry_after`).
        :raises ValueError: for a bad ``lifetime``, ``name`` or scope (also when ``scopes``
            is one string rather than a list of names).

        .. versionchanged:: 0.2
            ``scopes``, ``lifetime`` and ``password``; tokens end with the user's other
            credentials.
        """
        state = get_state(current_app)
        expires_in = state.settings.token_lifetime if lifetime is None else check_lifetime(lifetime)
        users = state.store.users
        scopes = names.check_scopes(scopes)  # before the password is tried
        if password is not None:
            login = users.login_name(user)
            if has_request_context():
                confirmed, wait = state.attempt_login(login, password)
            else:
                confirmed, wait = state.check_credentials(login, password), None
            if confirmed is None or users.user_id(confirmed) != users.user_id(user):
                raise WrongPassword(wait)
        return state.store.create_token(users.user_id(user), name, expires_in, scopes)[1]

    def login_required(self, view: F) -> F:
        """Let only logged-in users (session, remember-me or API token) reach ``view``.

        Browsers are sent to the login page with ``next``; programs (sending
        ``Authorization`` or JSON, preferring JSON, or not naming ``text/html`` in
        ``Accept``) get a 401 JSON answer with ``WWW-Authenticate``.

        .. versionchanged:: 0.2
            A request whose ``Accept`` does not name ``text/html`` gets the 401 JSON answer.
        """
        return self._guard(view, ())

    def roles_required(self, *roles: str) -> t.Callable[[F], F]:
        """Let only logged-in users with every one of ``roles`` reach the view; others get
        403: for programs (see :meth:`login_required`) as JSON,
        ``{"error": "forbidden", "roles": [...]}`` with the roles this view needs.

        :raises ValueError: if no role is given, or one is not a valid role name.

        .. versionchanged:: 0.2
            Programs get the 403 as JSON.

        .. versionchanged:: 0.2
            Role names are checked: ``"editor,admin"`` raises ``ValueError``.
        """
        if not roles:
            raise ValueError("roles_required needs one or more role names")
        names.check_roles(roles)  # "editor,admin" could never match: say so now
        return lambda view: self._guard(view, roles)

    def csrf_protect(self, view: F) -> F:
        """Refuse (400) requests to ``view`` that may change something (any method but
        GET, HEAD, OPTIONS and TRACE) without this session's CSRF token, sent in the
        ``X-CSRF-Token`` header or the ``csrf_token`` form field. Requests with an API
        token (``Authorization: Bearer``) are exempt: see :func:`.check_csrf`, which
        protects a whole blueprint with ``bp.before_request(check_csrf)``.

        Put it above :meth:`login_required`, so a forged request is refused before
        anything else is looked at.

        .. versionadded:: 0.2
        """

        @functools.wraps(view)
        def protected(*args: t.Any, **kwargs: t.Any) -> t.Any:
            check_csrf()
            # ensure_sync: an async def view returns a coroutine; Flask runs it.
            return current_app.ensure_sync(view)(*args, **kwargs)

        metadata = _metadata(view)
        protected.__flask_plug__ = {  # type: ignore[attr-defined]
            **metadata,
            "auth": {**metadata.get("auth", {}), "csrf": True},
        }
        return t.cast(F, protected)

    def scopes_required(self, *scopes: str) -> t.Callable[[F], F]:
        """Let a request authenticated by an API token reach the view only if the token
        has every one of ``scopes``; implies :meth:`login_required`.

        Logins with the user's own credentials (session, remember-me, HTTP Basic) are not
        limited by scopes. A token lacking a scope gets 403 JSON
        ``{"error": "insufficient_scope", "scopes": [...]}`` with
        ``WWW-Authenticate: Bearer realm="...", error="insufficient_scope", scope="..."``
        (RFC 6750), listing every scope the view needs. Stacked guards add up.

        :raises ValueError: if no scope is given, or one is not a valid scope name.

        .. versionadded:: 0.2
        """
        if not scopes:
            raise ValueError("scopes_required needs one or more scope names")
        names.check_scopes(scopes)
        return lambda view: self._guard(view, (), scopes)

    def _guard(self, view: F, roles: tuple[str, ...], scopes: tuple[str, ...] = ()) -> F:
        metadata = _metadata(view)
        auth = metadata.get("auth", {})
        # Every scope of the guards below too: the 403 names all that the view needs.
        all_scopes = sorted({*auth.get("scopes", ()), *scopes})

        @functools.wraps(view)
        def guarded(*args: t.Any, **kwargs: t.Any) -> t.Any:
            user = request_user()
            if user is None:
                return unauthorized()
            if roles and not set(roles) <= get_state(current_app).store.users.roles(user):
                if wants_json():
                    forbidden = jsonify(error="forbidden", roles=sorted(roles))
                    forbidden.status_code = 403
                    return forbidden
                abort(403)
            if scopes:
                granted = current_scopes()
                if granted is not None and not granted.issuperset(all_scopes):
                    refused = insufficient_scope(all_scopes)
                    refused.headers["Cache-Control"] = "private, no-store"
                    return refused
            # ensure_sync: an async def view returns a coroutine; Flask runs it, as it
            # would have run the view had it not been wrapped.
            response = make_response(current_app.ensure_sync(view)(*args, **kwargs))
            # A page for one user: no shared cache keeps it, and the back button after
            # logout does not show it from the browser's cache.
            response.headers.setdefault("Cache-Control", "private, no-store")
            return response

        roles_before = auth.get("roles", ())
        guarded.__flask_plug__ = {  # type: ignore[attr-defined]
            **metadata,
            "auth": {
                **auth,
                "login_required": True,
                "roles": sorted({*roles_before, *roles}),
                "scopes": all_scopes,
            },
        }
        return t.cast(F, guarded)


def _metadata(target: object) -> dict[str, t.Any]:
    """The ``__flask_plug__`` metadata of a view or blueprint: ``{package: {...}}``."""
    metadata = getattr(target, "__flask_plug__", None)
    return metadata if isinstance(metadata, dict) else {}


def _open_engine(settings: AuthSettings) -> tuple[Engine, Deadlines | None]:
    try:
        return open_engine(settings.database_uri, settings.db_timeout)
    except (ArgumentError, ImportError) as e:
        raise ValueError(
            f"AUTH_DATABASE_URI must be a database URL SQLAlchemy can open with an installed"
            f" driver, got {hide_password(settings.database_uri)!r}: {e}"
        ) from None


def _check_login_view_once(app: Flask, state: AuthState) -> None:
    """Fail the app's requests, from the first, while ``AUTH_LOGIN_VIEW`` names no endpoint.

    Not at :meth:`Auth.init_app`: the app may register its own login view after it.
    """

    @app.before_request
    def check_login_view() -> None:
        if state.login_view_checked:
            return
        view = state.settings.login_view
        try:
            url_for(view)
        except BuildError as e:
            raise RuntimeError(
                f"AUTH_LOGIN_VIEW {view!r} is not an endpoint of this app that builds without"
                f" arguments ({str(e).splitlines()[0]}); name the login page's endpoint, for"
                " example 'auth.login'"
            ) from None
        state.login_view_checked = True


class _CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's cookie sessions, but a request without a session cookie (an API call with a
    token, a first visit) gets its empty session without a cookie signer being built.

    Flask builds the signer for every request once ``SECRET_KEY`` is set, and auth needs
    one set: measured, that was about 9 µs of every request.
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if app.secret_key and (
            "HTTP_COOKIE" not in request.environ  # no parsing of cookies that are not there
            or not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()
        return super().open_session(app, request)


def _make_user_lazy(app: Flask) -> None:
    """Make ``g.user`` load the user on first access, so untouched requests cost nothing.

    Every way of reading ``g`` sees the same user: ``g.user``, ``getattr``, ``g.get``,
    ``g.pop``, ``g.setdefault`` and ``"user" in g``. The class subclasses whatever
    ``app.app_ctx_globals_class`` was (another extension's, the app's own) and hands every
    other name to it, so lazy attributes of several extensions compose in any order.
    """
    base = app.app_ctx_globals_class
    missing = object()

    class AuthGlobals(base):  # type: ignore[valid-type,misc]
        def __getattr__(self, name: str) -> t.Any:
            if name == "user" and has_request_context():
                user = get_state(current_app).load_user()
                self.user = user
                if user is not None:
                    set_remote_user(user)
                return user
            return super().__getattr__(name)

        def get(self, name: str, default: t.Any | None = None) -> t.Any:
            if name == "user" and name not in self.__dict__ and has_request_context():
                return self.__getattr__(name)
            return super().get(name, default)

        def pop(self, name: str, default: t.Any = missing) -> t.Any:
            if name == "user" and name not in self.__dict__ and has_request_context():
                self.__getattr__(name)
            if default is missing:
                return super().pop(name)
            return super().pop(name, default)

        def setdefault(self, name: str, default: t.Any = None) -> t.Any:
            if name == "user" and name not in self.__dict__ and has_request_context():
                return self.__getattr__(name)
            return super().setdefault(name, default)

        def __contains__(self, item: str) -> bool:
            # Always there in a request (the user or None): answered without loading it.
            if item == "user" and has_request_context():
                return True
            return super().__contains__(item)  # type: ignore[no-any-return]

    app.app_ctx_globals_class = AuthGlobals


def _warn_about_cookies(app: Flask) -> None:
    if app.debug or app.testing:
        return
    config = app.config
    problems = []
    if not config.get("SESSION_COOKIE_SECURE"):
        problems.append("SESSION_COOKIE_SECURE is off (cookies also travel over plain HTTP)")
    if not config.get("SESSION_COOKIE_HTTPONLY"):
        problems.append("SESSION_COOKIE_HTTPONLY is off (page scripts can read the cookie)")
    if config.get("SESSION_COOKIE_SAMESITE") not in ("Lax", "Strict"):
        problems.append(
            "SESSION_COOKIE_SAMESITE is not 'Lax' or 'Strict' (cross-site requests carry it)"
        )
    for problem in problems:
        app.logger.warning("flask-plug-auth: %s", problem)
