"""Argon2id hashing with OWASP's parameters, and the checks done before any hashing."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

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


def verify(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; against a dummy hash when there is no user."""
    try:
        return hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher.check_needs_rehash(password_hash)
