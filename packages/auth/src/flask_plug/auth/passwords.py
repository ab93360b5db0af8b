"""Argon2id hashing with OWASP's parameters, and the checks done before any hashing."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from werkzeug.security import check_password_hash

MAX_PASSWORD_BYTES = 1024
"""Longer passwords are refused before hashing: hashing a megabyte is a denial of service."""
MIN_PASSWORD_LENGTH = 8

# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)

# Verified against when the user does not exist, so unknown users cost the same time.
_DUMMY_HASH = hasher.hash("not the password of anyone: only here to spend the time")


def check_password_policy(password: str) -> str | None:
    """Why ``password`` may not be set, or ``None`` if it may."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"passwords have at least {MIN_PASSWORD_LENGTH} characters"
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return f"passwords have at most {MAX_PASSWORD_BYTES} bytes"
    return None


def hash_password(password: str) -> str:
    return hasher.hash(password)


WERKZEUG_METHODS = ("scrypt:", "pbkdf2:")
"""Hashes of Werkzeug's ``generate_password_hash`` (what Flask tutorials and most
Flask-Login apps store): checked as they are, and replaced by Argon2id at the next login,
so an app's users move over without a data migration."""


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; against a dummy hash when there is no user.

    .. versionchanged:: 0.2
        Werkzeug's ``scrypt:`` and ``pbkdf2:`` hashes are checked too.
    """
    if password_hash is not None and password_hash.startswith(WERKZEUG_METHODS):
        try:
            return check_password_hash(password_hash, password)
        except ValueError:  # a parameter out of range in a damaged hash
            return False
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether to replace the hash at this login: older Argon2 parameters, or not Argon2."""
    if password_hash.startswith(WERKZEUG_METHODS):
        return True
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
