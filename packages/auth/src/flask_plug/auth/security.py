"""CSRF tokens and safe redirect targets."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import unquote, urlsplit

from flask import current_app, session
from itsdangerous import BadSignature, URLSafeSerializer

_CSRF_KEY = "_auth_csrf"


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
