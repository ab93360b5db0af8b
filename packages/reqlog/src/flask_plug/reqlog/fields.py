"""Extra fields: values of the app's own (a user id, a tenant, the endpoint) on each line,
from a function called as the request ends."""

from __future__ import annotations

import math
import traceback
import typing as t
from collections.abc import Mapping
from urllib.parse import unquote_plus

from flask import request

from .escaping import REDACTED

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment
    from flask import Flask

    from .escaping import Redactor

EXTRA_FIELDS_KEY = "flask_plug.reqlog.extra_fields"
"""The WSGI environ key holding a request's extra fields, as the writer thread reads them."""

Value = str | int | float | bool | None
"""What a field holds once taken: anything else was turned into its ``str()``."""
ExtraFields = t.Callable[[], "Mapping[str, object] | None"]
"""The app's function: called with no arguments as each request ends, while ``request``
and ``g`` are still there; returns the fields (or ``None`` for none)."""

_PLAIN = (str, int, bool, type(None))
# A part of a secret this long or longer counts as the secret (a token out of
# ``Authorization: Bearer <token>``, a cookie's value out of ``Cookie``).
_MIN_SECRET_PART = 8


def collect_at_teardown(app: Flask, extra_fields: ExtraFields) -> None:
    """Call ``extra_fields`` at the end of each request of ``app``, and keep what it returns
    in the request's environ for the writer thread.

    A teardown hook, so it runs for every request Flask handles, errors included, while
    ``request`` and ``g`` are still there (before flask-sqlalchemy's session goes away). A
    function that raises or returns something else than a mapping costs its fields, never
    the request; each kind of failure is logged once (per exception type and the line it
    was raised at, which bounds the set by the code, not by the requests).
    """
    reported: set[tuple[type[BaseException], str, int | None]] = set()

    def collect_extra_fields(error: BaseException | None) -> None:
        try:
            fields = extra_fields()
            if fields is None:
                return
            if not isinstance(fields, Mapping):
                raise TypeError(
                    f"REQLOG_EXTRA_FIELDS must return a dict of fields or None, "
                    f"got {type(fields).__name__}"
                )
            taken = {str(name): _value(value) for name, value in fields.items()}
        except Exception as failure:
            last = traceback.extract_tb(failure.__traceback__)[-1]
            where = (type(failure), last.filename, last.lineno)
            if where not in reported:
                reported.add(where)
                app.logger.exception(
                    "REQLOG_EXTRA_FIELDS failed; this request (and any other failing the "
                    "same way, which is not logged again) is logged without its extra fields"
                )
            return
        request.environ[EXTRA_FIELDS_KEY] = taken

    app.teardown_request(collect_extra_fields)


def _value(value: object) -> Value:
    """``value`` as a line can hold it, taken on the request thread: a lazy object (a
    database row, a proxy) is read while its request is still there."""
    if type(value) in _PLAIN:
        return value  # type: ignore[return-value]
    if type(value) is float:
        return value if math.isfinite(value) else str(value)  # JSON has no NaN
    return str(value)


def logged_fields(environ: WSGIEnvironment, redactor: Redactor) -> dict[str, Value] | None:
    """A request's extra fields as they may be logged, or ``None`` if it has none.

    Secrets are redacted as in the rest of the line: a field whose name is secret
    (``api_key``, ``X-Auth-Token``) is ``REDACTED``; so is a text value that holds, is,
    or is a part of the value of a secret header or query parameter of the request
    (``request.headers["Authorization"]``, the token out of it, a cookie's value), once
    the secret query parameters of any URL in it (``request.url``) are redacted.
    """
    fields: dict[str, Value] | None = environ.get(EXTRA_FIELDS_KEY)
    if not fields:
        return None
    secrets: list[str] | None = None
    logged: dict[str, Value] = {}
    for name, value in fields.items():
        if redactor.is_secret(name):
            value = REDACTED
        elif isinstance(value, str) and value:
            if "?" in value or "#" in value:
                value = redactor.url(value)
            if secrets is None:
                secrets = _secret_values(environ, redactor)
            if _holds_a_secret(value, secrets):
                value = REDACTED
        logged[name] = value
    return logged


def _secret_values(environ: WSGIEnvironment, redactor: Redactor) -> list[str]:
    """The values of this request's secret headers and query parameters."""
    secrets = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and value and redactor.is_secret(key[5:]):
            secrets.append(value)
    for pair in environ.get("QUERY_STRING", "").split("&"):
        name, equals, value = pair.partition("=")
        if equals and value and redactor.is_secret(name):
            # As sent, and as request.args decodes it.
            secrets += [value, unquote_plus(value), unquote_plus(value, "latin-1")]
    return secrets


def _holds_a_secret(value: str, secrets: list[str]) -> bool:
    for secret in secrets:
        if value == secret:
            return True
        if len(value) >= _MIN_SECRET_PART and value in secret:
            return True
        if len(secret) >= _MIN_SECRET_PART and secret in value:
            return True
    return False
