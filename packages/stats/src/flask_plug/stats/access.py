"""Credentials a scraper may be asked for: HTTP Basic (RFC 7617) or a bearer token
(RFC 6750), checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac

REALM = "metrics"


def _digest(text: str) -> bytes:
    # Compared as digests: equal lengths, so the time taken tells nothing of the length.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


class Credentials:
    """What a scraper must send: a user and password, a bearer token, or either.

    :param basic: ``(username, password)``, or ``None``.
    :param bearer_token: the token, or ``None``.
    """

    def __init__(self, *, basic: tuple[str, str] | None, bearer_token: str | None) -> None:
        self._basic = None if basic is None else _digest(f"{basic[0]}:{basic[1]}")
        self._token = None if bearer_token is None else _digest(bearer_token)
        schemes = []
        if basic is not None:
            schemes.append(f'Basic realm="{REALM}", charset="UTF-8"')
        if bearer_token is not None:
            schemes.append(f'Bearer realm="{REALM}"')
        self.challenges = tuple(schemes)
        """The ``WWW-Authenticate`` values of a 401, one per scheme."""

    def check(self, authorization: str | None) -> bool:
        """Whether the ``Authorization`` header value carries the credentials."""
        scheme, _, value = (authorization or "").partition(" ")
        scheme, value = scheme.lower(), value.strip(" \t")
        if scheme == "basic" and self._basic is not None:
            try:
                pair = base64.b64decode(value, validate=True).decode("utf-8")
            except ValueError:  # not base64 (binascii.Error), not ASCII, not UTF-8
                return False
            return hmac.compare_digest(_digest(pair), self._basic)
        if scheme == "bearer" and self._token is not None:
            return hmac.compare_digest(_digest(value), self._token)
        return False
