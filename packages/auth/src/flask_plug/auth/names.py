"""User names and role names: what they may contain, and the one form each is kept in."""

from __future__ import annotations

import re
import typing as t
import unicodedata

MAX_USERNAME_LENGTH = 150
"""The most characters a user name has, after normalisation (the column's length)."""

MAX_ROLE_LENGTH = 64

ROLE_PATTERN = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_ROLE_LENGTH}}}")
"""One role name, or one API token scope: ASCII letters, digits, ``_``, ``.``, ``:`` and
``-``. Roles are stored comma-separated and scopes space-separated, so anything that could
separate two names is refused."""

# NFKC may make a character up to 18 long: anything this long cannot fit, whatever it is.
_MAX_RAW_LENGTH = 4 * MAX_USERNAME_LENGTH


def normalize_username(username: object) -> str | None:
    """The form a user name is stored and looked up in, or ``None`` if it cannot be one.

    NFKC-normalised (so look-alike compatibility forms such as full-width letters or the
    ``ﬁ`` ligature become the plain letters) and stripped; then 1 to
    :data:`MAX_USERNAME_LENGTH` characters, also when case-folded (``"İ"`` folds to two
    characters), with no control characters or lone surrogates.

    .. versionadded:: 0.2
    """
    if not isinstance(username, str) or len(username) > _MAX_RAW_LENGTH:
        return None
    name = unicodedata.normalize("NFKC", username).strip()
    if not 0 < len(name) <= MAX_USERNAME_LENGTH or len(name.casefold()) > MAX_USERNAME_LENGTH:
        return None
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        return None
    return name


def username_key(name: str) -> str:
    """The case-insensitive form of a normalised user name: what the brute-force counter
    of the account is kept under, so ``Ann`` and ``ANN`` share one."""
    return name.casefold()


def check_username(username: str) -> str:
    """The normalised user name.

    :raises ValueError: if it cannot be a user name.
    """
    name = normalize_username(username)
    if name is None:
        raise ValueError(
            f"user names have 1 to {MAX_USERNAME_LENGTH} characters after Unicode (NFKC)"
            " normalisation and case folding, and no control characters"
        )
    return name


def check_roles(roles: t.Iterable[str]) -> list[str]:
    """The role names, checked one by one.

    :raises ValueError: naming the first role that is not one name.
    """
    return _check_names(roles, "role", "roles")


def check_scopes(scopes: t.Iterable[str]) -> list[str]:
    """The API token scope names, checked one by one: the same alphabet as role names.

    :raises ValueError: naming the first scope that is not one name.

    .. versionadded:: 0.2
    """
    return _check_names(scopes, "scope", "scopes")


def _check_names(values: t.Iterable[str], kind: str, plural: str) -> list[str]:
    if isinstance(values, str):
        raise ValueError(f"{plural} must be a list of {kind} names, not the string {values!r}")
    checked = []
    for value in values:
        if not isinstance(value, str) or not ROLE_PATTERN.fullmatch(value):
            raise ValueError(
                f"{kind} {value!r} is not a {kind} name: use 1 to {MAX_ROLE_LENGTH} ASCII"
                " letters, digits, '_', '.', ':' or '-' (no commas or spaces; give several"
                f" {plural} as several names)"
            )
        checked.append(value)
    return checked
