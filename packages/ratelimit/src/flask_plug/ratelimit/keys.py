"""Key functions: who a limit counts. Each returns a string for the current request."""

from __future__ import annotations

import hashlib
import sys
import typing as t

from flask import current_app, g, request


def remote_addr() -> str:
    """The client address as the WSGI server saw it (``request.remote_addr``).

    Behind a proxy that is the proxy's address: apply Werkzeug's ``ProxyFix`` with the
    number of proxies you run, which makes ``remote_addr`` the real client. Never key
    on ``X-Forwarded-For`` yourself: any client can send one.
    """
    return request.remote_addr or "unknown"


def user_or_remote_addr() -> str:
    """The logged-in user, else the address (``"user:42"`` or ``"addr:192.0.2.7"``).

    The user is ``g.user`` when it is set (flask-plug-auth sets it; so can the app), else
    Flask-Login's ``current_user`` when Flask-Login is in use and the user is
    authenticated (named by its ``get_id()``). ``g.user`` is named by, in order: itself
    if it is a string or a number; its primary key if it is an SQLAlchemy model instance
    (the app's own ``user_model`` under flask-plug-auth, whatever the key's name); its
    ``get_id()`` (Flask-Login's ``UserMixin``); its ``id``. A user none of these name is
    counted by address.

    ``g.user`` is read as an attribute, so an extension that loads the user lazily on
    first access (as flask-plug-auth does) has loaded it by then.

    .. versionchanged:: 0.2
        Flask-Login's ``current_user``; SQLAlchemy models by primary key; ``get_id()``;
        a user with no such name counts by address (0.1 used its ``str()``).
    """
    user = getattr(g, "user", None)
    if user is not None:
        name = _user_name(user)
        if name is not None:
            return "user:" + name
    flask_login = sys.modules.get("flask_login")  # in use only if the app imported it
    if flask_login is not None and hasattr(current_app, "login_manager"):
        user = flask_login.current_user
        if user.is_authenticated:
            return f"user:{user.get_id()}"
    return "addr:" + remote_addr()


def _user_name(user: object) -> str | None:
    """What names ``user`` in its counts (see :func:`user_or_remote_addr`), or ``None``."""
    if isinstance(user, (str, int)):
        return str(user)
    sqlalchemy = sys.modules.get("sqlalchemy")
    if sqlalchemy is not None:
        state = sqlalchemy.inspect(user, raiseerr=False)
        identity = getattr(state, "identity", None)  # None until the row is in the database
        if identity:
            return ",".join(str(part) for part in identity)
    get_id = getattr(user, "get_id", None)
    if callable(get_id):
        try:
            found = get_id()
        except NotImplementedError:  # Flask-Login's UserMixin on a user without an id
            found = None
        if found is not None:
            return str(found)
    found = getattr(user, "id", None)
    return None if found is None else str(found)


def header_key(name: str) -> t.Callable[[], str]:
    """A key function counting by the value of request header ``name`` (an API key).

    The value is hashed, so storage never holds the secret; requests without the
    header are counted by address.
    """

    def key() -> str:
        value = request.headers.get(name)
        if not value:
            return "addr:" + remote_addr()
        return "key:" + hashlib.sha256(value.encode()).hexdigest()[:32]

    key.__name__ = f"header_key({name!r})"
    return key


def storage_key_part(client: str) -> str:
    """``client`` (what a key function returned) as its storage keys hold it, between braces.

    Braces inside would break the Redis hash tag that keeps one client's keys together.
    """
    if "{" in client or "}" in client:
        return client.replace("{", "%7B").replace("}", "%7D")
    return client
