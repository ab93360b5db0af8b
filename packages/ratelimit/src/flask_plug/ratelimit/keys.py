"""Key functions: who a limit counts. Each returns a string for the current request."""

from __future__ import annotations

import hashlib
import typing as t

from flask import g, request


def remote_addr() -> str:
    """The client address as the WSGI server saw it (``request.remote_addr``).

    Behind a proxy that is the proxy's address: apply Werkzeug's ``ProxyFix`` with the
    number of proxies you run, which makes ``remote_addr`` the real client. Never key
    on ``X-Forwarded-For`` yourself: any client can send one.
    """
    return request.remote_addr or "unknown"


def user_or_remote_addr() -> str:
    """The logged-in user (``g.user``, by its ``id`` if it has one), else the address.

    ``g.user`` is read as an attribute, so an extension that loads the user lazily on
    first access (as flask-plug-auth does) has loaded it by then.
    """
    user = getattr(g, "user", None)
    if user is None:
        return "addr:" + remote_addr()
    return f"user:{getattr(user, 'id', user)}"


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
