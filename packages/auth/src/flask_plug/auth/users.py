"""Where users live: the built-in table, or the app's own SQLAlchemy model.

Auth reads and writes users with SQLAlchemy Core on the user table's columns, whichever
table it is, so a request costs one query either way; only the object handed to the app
differs (the built-in :class:`User`, or an instance of the app's model).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from sqlalchemy import Boolean, String, Text, inspect
from sqlalchemy.exc import NoInspectionAvailable
from sqlalchemy.orm import (
    ColumnProperty,
    Mapped,
    SynonymProperty,
    make_transient_to_detached,
    mapped_column,
)
from sqlalchemy.orm.attributes import instance_dict

from . import names
from .models import users as users_table

if t.TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy import Column, Table
    from sqlalchemy.engine import Row
    from sqlalchemy.orm import Mapper, scoped_session


@dataclass(frozen=True)
class User:
    """A user of the built-in table, as loaded for a request: ``current_user`` and ``g.user``.

    .. versionchanged:: 0.2
        ``email`` and ``is_active``.
    """

    id: int
    username: str
    roles: frozenset[str]
    email: str | None = None
    is_active: bool = True
    """An inactive user cannot log in, and their sessions and tokens stop working."""

    def has_role(self, *roles: str) -> bool:
        """Whether the user has every one of ``roles``."""
        return set(roles) <= self.roles


class UserModelMixin:
    """Columns for a new SQLAlchemy user model: ``password_hash``, ``roles`` (role names,
    comma-separated) and ``is_active``. Add your own id and login columns (``username``,
    ``email``, ...). Works with declarative models and Flask-SQLAlchemy's ``db.Model``.

    An existing model needs no mixin: see :class:`~flask_plug.auth.ModelUsers` for
    what auth reads.

    .. versionadded:: 0.2
    """

    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[str] = mapped_column(Text, default="", server_default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")

    def has_role(self, *roles: str) -> bool:
        """Whether the user has every one of ``roles``."""
        return set(roles) <= {role for role in self.roles.split(",") if role}


class Users:
    """What auth needs of a user store, over one table: the columns it reads and writes, and
    how to read a loaded user. The built-in table is one (``BuiltinUsers``), an app's
    model another (:class:`ModelUsers`).
    """

    _login_keys: tuple[str, ...]
    table: Table
    id: Column[t.Any]
    password_hash: Column[t.Any]
    login: tuple[Column[t.Any], ...]
    """The columns a login name is looked up in (``AUTH_LOGIN_FIELDS``), in order."""
    roles_column: Column[t.Any] | None
    """The column keeping role names comma-separated; ``None`` where roles are not a column."""

    active_column: Column[t.Any] | None
    """The column saying whether the user is active; ``None`` where there is none."""

    def from_row(self, row: Row[t.Any]) -> t.Any:
        """The user of a row of the user table (every column selected)."""
        raise NotImplementedError

    def column(self, field: str) -> Column[t.Any]:
        """The column of a field given to :meth:`~flask_plug.auth.Auth.register_user`.

        :raises ValueError: if ``field`` is not one.
        """
        raise NotImplementedError

    def complete_row(self, values: dict[t.Any, t.Any], now: datetime) -> None:
        """Add to a new user's row what it holds besides what it was given."""

    def password_changed_values(self, now: datetime) -> dict[Column[t.Any], t.Any]:
        """What a password change writes besides the hash."""
        return {}

    def user_id(self, user: t.Any) -> t.Any:
        """The user's primary key: what auth's own tables refer to."""
        raise NotImplementedError

    def login_name(self, user: t.Any) -> str:
        """The first login name of the user: what ``REMOTE_USER`` and the CLI show."""
        return str(getattr(user, self._login_keys[0]))

    def login_names(self, user: t.Any) -> list[str]:
        """Every login name of the user (name and email, say), empty ones left out."""
        values = (getattr(user, key, None) for key in self._login_keys)
        return [value for value in values if isinstance(value, str) and value]

    def roles(self, user: t.Any) -> frozenset[str]:
        """The user's role names."""
        raise NotImplementedError

    def is_active(self, user: t.Any) -> bool:
        """Whether the user may log in and use their sessions and tokens."""
        return bool(getattr(user, "is_active", True))


class BuiltinUsers(Users):
    """The ``auth_users`` table: the zero-configuration default.

    :param login_fields: ``"username"``, ``"email"``, or both, in lookup order.
    """

    def __init__(self, login_fields: t.Sequence[str]) -> None:
        self.table = users_table
        self.id = users_table.c.id
        self.password_hash = users_table.c.password_hash
        self.roles_column = users_table.c.roles
        for field in login_fields:
            if field not in ("username", "email"):
                raise ValueError(
                    "AUTH_LOGIN_FIELDS must name 'username', 'email' or both for the built-in"
                    f" user table, got {field!r}"
                )
        self.login = tuple(users_table.c[field] for field in login_fields)
        self._login_keys = tuple(login_fields)
        self.active_column = users_table.c.active

    def column(self, field: str) -> Column[t.Any]:
        if field not in ("username", "email"):
            raise ValueError(f"the built-in user table has no field {field!r} to set")
        return users_table.c[field]

    def complete_row(self, values: dict[t.Any, t.Any], now: datetime) -> None:
        values[users_table.c.created_at] = values[users_table.c.password_changed_at] = now
        # The name column is never empty: logging in by email, the address stands in.
        values.setdefault(users_table.c.username, values[self.login[0]])

    def password_changed_values(self, now: datetime) -> dict[Column[t.Any], t.Any]:
        return {users_table.c.password_changed_at: now}

    def from_row(self, row: Row[t.Any]) -> User:
        values = row._mapping
        return User(
            values[users_table.c.id],
            values[users_table.c.username],
            split_roles(values[users_table.c.roles]),
            values[users_table.c.email],
            values[users_table.c.active] is not False,  # NULL: a 0.1 row, active
        )

    def user_id(self, user: t.Any) -> t.Any:
        return user.id

    def roles(self, user: t.Any) -> frozenset[str]:
        return t.cast(frozenset[str], user.roles)


class ModelUsers(Users):
    """The app's own SQLAlchemy model (declarative, or Flask-SQLAlchemy's ``db.Model``).

    Auth reads these attributes, each a mapped column (or a SQLAlchemy ``synonym`` of one,
    for a column named otherwise):

    - the primary key (one column);
    - each of ``AUTH_LOGIN_FIELDS`` (default ``("username",)``), text;
    - ``password_hash``, text: Argon2id hashes, and Werkzeug's ``scrypt:``/``pbkdf2:``
      hashes, which are replaced by Argon2id at the user's next login;
    - ``roles``, optional: a text column of comma-separated role names, or anything
      iterating role names or objects with a ``name`` (a relationship to a role table);
    - ``is_active``, optional: a column or a property; absent means active.

    :param session: the app's ``scoped_session`` (Flask-SQLAlchemy's ``db.session``): users
        loaded for a request are attached to it, so their relationships load. Without one
        they are detached, with their columns loaded.
    """

    def __init__(
        self,
        model: type[t.Any],
        login_fields: t.Sequence[str],
        session: scoped_session[t.Any] | None = None,
    ) -> None:
        try:
            mapper: Mapper[t.Any] = inspect(model)
        except NoInspectionAvailable:
            raise ValueError(
                f"user_model must be a mapped SQLAlchemy model class, got {model!r}"
            ) from None
        if len(mapper.tables) != 1 or len(mapper.primary_key) != 1:
            raise ValueError(
                f"user_model {model.__name__} must map one table with a one-column primary key"
            )
        self.session = session
        self._mapper = mapper
        self.table = t.cast("Table", mapper.local_table)
        self.id = t.cast("Column[t.Any]", mapper.primary_key[0])
        self.password_hash = _column(mapper, "password_hash", "user_model")
        self.login = tuple(_column(mapper, field, "AUTH_LOGIN_FIELDS") for field in login_fields)
        for field, column in zip(login_fields, self.login, strict=True):
            if not isinstance(column.type, String):
                raise ValueError(f"AUTH_LOGIN_FIELDS: {model.__name__}.{field} is not text")
        self._login_keys = tuple(login_fields)
        self.roles_column = _column(mapper, "roles", "") if _is_column(mapper, "roles") else None
        self._has_roles = hasattr(model, "roles")
        self.active_column = (
            _column(mapper, "is_active", "") if _is_column(mapper, "is_active") else None
        )
        self._columns = [
            (prop.key, prop.columns[0]) for prop in mapper.column_attrs if len(prop.columns) == 1
        ]
        self._id_key = mapper.get_property_by_column(self.id).key

    def column(self, field: str) -> Column[t.Any]:
        return _column(self._mapper, field, "register_user")

    def from_row(self, row: Row[t.Any]) -> t.Any:
        values = row._mapping
        session = self.session
        if session is not None:
            identity = self._mapper.identity_key_from_primary_key((values[self.id],))
            present = session.identity_map.get(identity)
            if present is not None:
                return present  # the app loaded this user already in this session
        user = self._mapper.class_manager.new_instance()
        # Loaded values, not changes: make_transient_to_detached commits them (and leaves
        # relationships to load lazily), as an ORM query would have.
        instance_dict(user).update({key: values[column] for key, column in self._columns})
        make_transient_to_detached(user)
        if session is not None:
            session.add(user)
        return user

    def user_id(self, user: t.Any) -> t.Any:
        return getattr(user, self._id_key)

    def roles(self, user: t.Any) -> frozenset[str]:
        if not self._has_roles:
            return frozenset()
        value = getattr(user, "roles", None)
        if value is None:
            return frozenset()
        if isinstance(value, str):
            return split_roles(value)
        return frozenset(role if isinstance(role, str) else role.name for role in value)


def split_roles(text: str | None) -> frozenset[str]:
    return frozenset(role for role in (text or "").split(",") if role)


def _is_column(mapper: Mapper[t.Any], name: str) -> bool:
    prop = mapper.all_orm_descriptors.get(name)
    if prop is None:
        return False
    try:
        found = mapper.get_property(name)
    except Exception:  # a plain property or hybrid: not mapped
        return False
    if isinstance(found, SynonymProperty):
        found = mapper.get_property(found.name)
    return isinstance(found, ColumnProperty) and len(found.columns) == 1


def _column(mapper: Mapper[t.Any], name: str, option: str) -> Column[t.Any]:
    """The table column behind the mapped attribute ``name`` (through a synonym)."""
    if not _is_column(mapper, name):
        raise ValueError(
            f"{option}: {mapper.class_.__name__}.{name} must be a mapped column of"
            f" {mapper.local_table.description} (or a synonym of one)"
        )
    prop = mapper.get_property(name)
    if isinstance(prop, SynonymProperty):
        prop = mapper.get_property(prop.name)
    return t.cast("ColumnProperty[t.Any]", prop).columns[0]  # type: ignore[return-value]


def normalized_key(value: object) -> str | None:
    """The case-insensitive key of a stored login name, or ``None`` if it cannot be one."""
    name = names.normalize_username(value)
    return None if name is None else names.username_key(name)
