"""CSRF tokens and safe redirect targets."""

from __future__ import annotations

import hmac
import secrets
import typing as t
from urllib.parse import unquote, urlsplit

from flask import abort, current_app, jsonify, request, session
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.exceptions import RequestEntityTooLarge

from .login import wants_json

_CSRF_KEY = "_auth_csrf"

CSRF_HEADER = "X-CSRF-Token"
"""The request header scripts send the token in (forms send the ``csrf_token`` field).

.. versionadded:: 0.2
"""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods that must not change anything, so need no token; every other method does."""

CSRF_FAILURE = "the CSRF token is missing or wrong; reload the page"


def _serializer() -> URLSafeSerializer:
    """Signs with ``SECRET_KEY``; also accepts tokens signed with a key in
    ``SECRET_KEY_FALLBACKS``, so a form shown before a key rotation still posts after it
    (as Flask's session cookie does)."""
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or ()), current_app.secret_key]
    return URLSafeSerializer(keys, salt="flask-plug-auth.csrf")  # the last key signs


def csrf_token() -> str:
    """The form token for this session: a signed copy of a random value kept in it."""
    value = session.get(_CSRF_KEY)
    if value is None:
        value = session[_CSRF_KEY] = secrets.token_urlsafe(32)
    return _serializer().dumps(value)


def csrf_valid(token: object) -> bool:
    """Whether a submitted token belongs to this session."""
    expected = session.get(_CSRF_KEY)
    if not isinstance(token, str) or expected is None or len(token) > 200:
        return False
    try:
        value = _serializer().loads(token)
    except BadSignature:
        return False
    return isinstance(value, str) and hmac.compare_digest(value, expected)


def submitted_csrf_token() -> str | None:
    """The token a request carries: the ``X-CSRF-Token`` header, else the form field
    ``csrf_token``.

    .. versionadded:: 0.2
    """
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    try:
        return request.form.get("csrf_token")
    except RequestEntityTooLarge:
        refuse_csrf("the form is too large")


def refuse_csrf(message: str = CSRF_FAILURE) -> t.NoReturn:
    """Abort with 400: ``{"error": message}`` for a program, Flask's HTML page otherwise."""
    if wants_json():
        response = jsonify(error=message)
        response.status_code = 400
        abort(response)
    abort(400, description=message)


def check_csrf() -> None:
    """Refuse (400) a request with a method other than GET, HEAD, OPTIONS and TRACE that
    does not carry this session's CSRF token, in the ``X-CSRF-Token`` header or the
    ``csrf_token`` form field. Programs get ``{"error": ...}`` as JSON.

    What :meth:`Auth.csrf_protect` runs; protect a whole blueprint with
    ``bp.before_request(check_csrf)``. It needs a session (a ``SECRET_KEY``), not auth.

    Requests authenticated by an API token (``Authorization: Bearer ...``) are let
    through: auth then finds the user from that header alone and never from the session
    cookie, and no browser adds a bearer token to a request by itself, so a request
    another site forged gains nothing by carrying one. HTTP Basic is not exempt: a browser
    does replay Basic credentials the user once typed into its own prompt.

    .. versionadded:: 0.2
    """
    scheme = request.headers.get("Authorization", "").partition(" ")[0]
    if request.method in SAFE_METHODS or scheme.lower() == "bearer":
        return
    if not csrf_valid(submitted_csrf_token()):
        refuse_csrf()


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``.

    Only relative paths starting with one ``/`` pass: ``//evil.com``, ``/\\evil.com``,
    ``\\\\evil.com``, ``https://evil.com`` and ``javascript:`` do not, nor anything with
    control characters, which browsers strip before parsing.
    """
    if not target or len(target) > 2000:
        return default
    # Check the text as given and as the browser will decode it: "/%09/evil.com" has a
    # tab that browsers strip, leaving "//evil.com".
    for text in (target, unquote(target)):
        if any(ord(c) < 0x20 or c == "\x7f" for c in text) or "\\" in text:
            return default
        if not text.startswith("/") or text.startswith("//"):
            return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
