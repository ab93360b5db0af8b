"""Every database operation of the extension, on a SQLAlchemy engine (Core, no ORM)."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import typing as t
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import (
    MetaData,
    bindparam,
    case,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from . import names, passwords
from .database import DatabaseUnavailable, Outage, describe, is_unavailable
from .models import Tables, auth_tables, builtin
from .users import BuiltinUsers, Users, normalized_key

if t.TYPE_CHECKING:
    from sqlalchemy import Column
    from sqlalchemy.engine import Connection, Engine, Row

    from .database import Deadlines


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def digest(secret: str) -> str:
    """SHA-256 hex of a random secret: what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


class UserExists(ValueError):
    """A user with this name already exists."""


@dataclass(frozen=True)
class ApiToken:
    """An API token as listed; the token itself is shown once, at creation, and never kept.

    Times are naive UTC.

    .. versionadded:: 0.2
    """

    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    """When it stops working; ``None``: never."""
    revoked_at: datetime | None
    """When it was revoked: by hand, or with every token of its user by a password change,
    "log out everywhere" or a stolen remember-me cookie. ``None``: not revoked."""
    scopes: frozenset[str] = frozenset()
    """What the token may be used for (see :meth:`Auth.scopes_required`); empty: nothing
    that needs a scope. Tokens made before scopes existed have none.

    .. versionadded:: 0.2
    """

    @property
    def active(self) -> bool:
        """Whether it authenticates now: neither revoked nor expired."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > utcnow())


def _added_columns(tables: Tables) -> tuple[Column[t.Any], ...]:
    """Columns added since 0.1, each nullable so that existing rows stay valid. create_all
    leaves existing tables alone, so create_tables adds these to tables an older version made."""
    return (tables.api_tokens.c.expires_at, tables.api_tokens.c.scopes)


def _scopes(text: str | None) -> frozenset[str]:
    """The scopes of a token's ``scopes`` column: space-separated; NULL is none."""
    return frozenset(text.split()) if text else frozenset()


def _upsert_for(engine: Engine) -> t.Callable[..., t.Any] | None:
    """The dialect's ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, where it has one."""
    if engine.dialect.name == "postgresql":
        return postgresql.insert
    if engine.dialect.name == "sqlite" and sqlite3.sqlite_version_info >= (3, 35):
        return sqlite.insert  # RETURNING arrived in SQLite 3.35
    return None


class Store:
    """The user store on one engine.

    Every call that finds the database unreachable, reset or silent past its deadline
    raises :class:`~flask_plug.auth.DatabaseUnavailable` (a 503 in a request), and the
    outage is logged once, with its end.

    :param users: where the users are: the built-in table (the default), or the app's
        model (:class:`~flask_plug.auth.ModelUsers`).
    :param deadlines: ends calls that take too long; auth makes one for the engines it
        opens (``AUTH_DB_TIMEOUT``).

    .. versionchanged:: 0.2
        Database outages raise :class:`~flask_plug.auth.DatabaseUnavailable`; ``users``.
    """

    def __init__(
        self, engine: Engine, *, users: Users | None = None, deadlines: Deadlines | None = None
    ) -> None:
        self.engine = engine
        self.users = users = users or BuiltinUsers(("username",))
        self.tables = (
            builtin if isinstance(users, BuiltinUsers) else auth_tables(MetaData(), users.id)
        )
        self._upsert = _upsert_for(engine)
        self._deadlines = deadlines
        self._outage = Outage()
        # The two queries made on every authenticated request, built once.
        sessions, tokens = self.tables.login_sessions, self.tables.api_tokens
        self._session_user = (
            select(users.table)
            .join(sessions, sessions.c.user_id == users.id)
            .where(sessions.c.id_hash == bindparam("id_hash"))
            .where(sessions.c.expires_at > bindparam("now"))
        )
        self._token_user = (
            # The token's scopes come with its user: a token request makes this one query.
            select(users.table, tokens.c.scopes.label("token_scopes"))
            .join(tokens, tokens.c.user_id == users.id)
            .where(tokens.c.token_hash == bindparam("token_hash"))
            .where(tokens.c.revoked_at.is_(None))
            .where(or_(tokens.c.expires_at.is_(None), tokens.c.expires_at > bindparam("now")))
        )

    @contextmanager
    def _database(self) -> t.Iterator[None]:
        """One use of the database: under the deadline, its outages reported."""
        call = None
        try:
            if self._deadlines is None:
                yield
            else:
                with self._deadlines.call() as call:
                    yield
        except (DBAPIError, PoolTimeout) as e:
            if not is_unavailable(e):
                raise
            timeout = self._deadlines.seconds if self._deadlines else None
            reason = f"no answer within {timeout:g} s" if call and call.cut else describe(e)
            self._outage.failed(reason)
            raise DatabaseUnavailable() from e
        self._outage.answered()

    @contextmanager
    def _connect(self) -> t.Iterator[Connection]:
        with self._database(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def _begin(self) -> t.Iterator[Connection]:
        with self._database(), self.engine.begin() as conn:
            yield conn

    def create_tables(self) -> None:
        """Create the tables that are missing, and add newer columns to existing ones.

        Safe to run on every deploy: existing tables and rows are left as they are. With
        an app's user model, only auth's own tables are made: create the model's table
        first (``db.create_all()``, or your migrations).

        .. versionchanged:: 0.2
            Adds ``auth_api_tokens.expires_at``, ``auth_api_tokens.scopes``,
            ``auth_users.email`` and ``auth_users.active`` to tables made by 0.1.
        """
        with self._database():
            self.tables.metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        with self._begin() as conn:
            inspector = inspect(conn)
            preparer = conn.dialect.identifier_preparer
            added = _added_columns(self.tables)
            if isinstance(self.users, BuiltinUsers):
                added += (self.users.table.c.email, self.users.table.c.active)
            for column in added:
                present = {c["name"] for c in inspector.get_columns(column.table.name)}
                if column.name in present:
                    continue
                # Names and type come from our own model, never from input.
                ddl = (
                    f"ALTER TABLE {preparer.format_table(column.table)} ADD COLUMN"  # noqa: S608
                    f" {preparer.format_column(column)} {column.type.compile(conn.dialect)}"
                )
                conn.execute(text(ddl))

    # users -------------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str,
        /,
        roles: t.Iterable[str] = (),
        *,
        pending: bool = False,
        **fields: t.Any,
    ) -> t.Any:
        """Create a user; ``username`` goes in the first login field (``AUTH_LOGIN_FIELDS``),
        stored NFKC-normalised and stripped, and ``fields`` in the columns of those names.

        :raises ValueError: if the name cannot be a user name, a role is not one role
            name, a field is not a column (:class:`UserExists` if a login name is taken,
            in any case).

        :param pending: create the user inactive, awaiting :meth:`confirm_user` (a
            registration whose address is not yet confirmed).

        .. versionchanged:: 0.2
            User names are normalised and bounded; role names are checked; ``fields``; a
            name taken in another case is refused; ``pending``; the name and password are
            positional, so that ``fields`` may fill a ``username`` column when the first
            login field is ``email``.
        """
        users = self.users
        values: dict[t.Any, t.Any] = {users.login[0]: names.check_username(username)}
        for field, value in fields.items():
            column = users.column(field)
            if column in users.login and value is not None:
                value = names.check_username(value)
            values[column] = value
        role_text = ",".join(sorted(set(names.check_roles(roles))))
        if users.roles_column is not None:
            values[users.roles_column] = role_text
        elif role_text:
            raise ValueError("roles are not a column of the user model: give them in your app")
        # Hashed before the transaction: Argon2's work does not run on the call's deadline.
        values[users.password_hash] = passwords.hash_password(password)
        now = utcnow()
        users.complete_row(values, now)
        if pending:
            if users.active_column is None:
                raise ValueError("the user model has no is_active column: no user can be pending")
            values[users.active_column] = False
        logins = [values[column] for column in users.login if values.get(column)]
        try:
            with self._begin() as conn:
                for login in logins:
                    if self._lookup(conn, login):
                        raise UserExists(f"a user named {login!r} already exists")
                result = conn.execute(insert(users.table).values(values))
                user_id = result.inserted_primary_key[0]  # type: ignore[index]
                if pending:
                    conn.execute(
                        insert(self.tables.pending_confirmations).values(
                            user_id=user_id, created_at=now
                        )
                    )
        except IntegrityError:
            raise UserExists(f"a user named {logins[0]!r} already exists") from None
        return self.user_by_id(user_id, active_only=False)

    def _lookup(self, conn: Connection, login: str) -> list[Row[t.Any]]:
        """The rows whose login name is ``login`` compared case-insensitively, after
        normalisation, in Python: what the database's collation calls equal (MySQL's
        ``'ann ' = 'ANN'``, accent-insensitive collations) is only a candidate."""
        key = names.username_key(login)
        columns = self.users.login
        candidates = conn.execute(
            select(self.users.table)
            .where(or_(*(or_(c == login, func.lower(c) == login.lower()) for c in columns)))
            .limit(20)
        ).all()
        return [
            row
            for row in candidates
            if any(normalized_key(row._mapping[c]) == key for c in columns)
        ]

    def find_user(self, username: str) -> tuple[t.Any, str] | None:
        """The user (active or not) and their password hash, found by any login field
        case-insensitively; ``None`` also for a name no user can have (then no query is
        made) and for a name two users share in different cases.

        .. versionchanged:: 0.2
            Case-insensitive, in every login field.
        """
        name = names.normalize_username(username)
        if name is None:
            return None
        with self._connect() as conn:
            rows = self._lookup(conn, name)
        if len(rows) > 1:  # kept from before names were unique in any case: only exact
            rows = [r for r in rows if any(r._mapping[c] == name for c in self.users.login)]
        if len(rows) != 1:
            return None
        return self.users.from_row(rows[0]), rows[0]._mapping[self.users.password_hash]

    def user_by_id(self, user_id: t.Any, *, active_only: bool = True) -> t.Any | None:
        """The user with this id; ``None`` if there is none, or (``active_only``) if the
        user is inactive."""
        users = self.users
        with self._connect() as conn:
            row = conn.execute(select(users.table).where(users.id == user_id)).first()
        return None if row is None else self._user(row, active_only)

    def _user(self, row: Row[t.Any], active_only: bool = True) -> t.Any | None:
        user = self.users.from_row(row)
        return user if not active_only or self.users.is_active(user) else None

    def list_users(self) -> list[t.Any]:
        """Every user, active or not, by login name."""
        users = self.users
        with self._connect() as conn:
            rows = conn.execute(select(users.table).order_by(users.login[0])).all()
        return [users.from_row(row) for row in rows]

    def delete_user(self, username: str) -> bool:
        found = self.find_user(username)
        if found is None:
            return False
        user_id = self.users.user_id(found[0])
        with self._begin() as conn:
            self._revoke_everything(conn, user_id)
            conn.execute(delete(self.users.table).where(self.users.id == user_id))
        return True

    def set_active(self, user_id: t.Any, active: bool) -> None:
        """Activate or deactivate a user; deactivating also ends their sessions and
        remember-me tokens and revokes their API tokens.

        :raises ValueError: if the user model has no ``is_active`` column.

        .. versionadded:: 0.2
        """
        column = self.users.active_column
        if column is None:
            raise ValueError("the user model has no is_active column to set")
        with self._begin() as conn:
            conn.execute(
                update(self.users.table).where(self.users.id == user_id).values({column: active})
            )
            if active:  # an admin's activation stands for the confirmation
                conn.execute(self._delete_pending(user_id))
            else:
                self._revoke_sessions(conn, user_id, keep=None)
                self._revoke_tokens(conn, user_id)

    def confirm_user(self, user_id: t.Any) -> bool:
        """Activate a user who registered and is awaiting confirmation; ``False`` (and
        nothing changes) if they are not, or no longer, awaiting it.

        .. versionadded:: 0.2
        """
        column = self.users.active_column
        with self._begin() as conn:
            if not conn.execute(self._delete_pending(user_id)).rowcount:
                return False
            if column is not None:
                conn.execute(
                    update(self.users.table).where(self.users.id == user_id).values({column: True})
                )
        return True

    def is_pending(self, user_id: t.Any) -> bool:
        """Whether the user registered and has not confirmed their address yet.

        .. versionadded:: 0.2
        """
        pending = self.tables.pending_confirmations
        with self._connect() as conn:
            return (
                conn.scalar(select(pending.c.user_id).where(pending.c.user_id == user_id))
                is not None
            )

    def _delete_pending(self, user_id: t.Any) -> t.Any:
        pending = self.tables.pending_confirmations
        return delete(pending).where(pending.c.user_id == user_id)

    def find_by_email(self, email: str) -> t.Any | None:
        """The user (active or not) whose email address is ``email``, compared like login
        names: normalised, in any case; ``None`` if none (or several) has it.

        .. versionadded:: 0.2
        """
        if names.normalize_username(email) is None:
            return None
        with self._connect() as conn:
            rows = self._email_rows(conn, email)
        return self.users.from_row(rows[0]) if len(rows) == 1 else None

    def _email_rows(self, conn: Connection, email: str) -> list[Row[t.Any]]:
        column = self.users.column("email")
        key = names.username_key(names.check_username(email))
        candidates = conn.execute(
            select(self.users.table)
            .where(or_(column == email, func.lower(column) == email.lower()))
            .limit(20)
        ).all()
        return [row for row in candidates if normalized_key(row._mapping[column]) == key]

    def set_email(self, user_id: t.Any, email: str, *, expected: str | None) -> bool:
        """Change a user's email address, if it is still ``expected`` (compare-and-set: a
        confirmation link works once).

        :return: whether it changed.
        :raises UserExists: if another user has the address (as email or login name).

        .. versionadded:: 0.2
        """
        users = self.users
        column = users.column("email")
        if column in users.login:
            email = names.check_username(email)
        with self._begin() as conn:
            others = [
                row
                for row in (*self._email_rows(conn, email), *self._lookup(conn, email))
                if row._mapping[users.id] != user_id
            ]
            if others:
                raise UserExists("another user has this email address")
            current = column == expected if expected is not None else column.is_(None)
            result = conn.execute(
                update(users.table).where(users.id == user_id, current).values({column: email})
            )
            return bool(result.rowcount)

    def set_password(
        self, user_id: t.Any, password: str, *, keep_session: str | None = None
    ) -> None:
        """Change a password, end every login session but ``keep_session`` and every
        remember-me token, and revoke every API token of the user.

        .. versionchanged:: 0.2
            API tokens are revoked too.
        """
        password_hash = passwords.hash_password(password)
        with self._begin() as conn:
            self._set_hash(conn, user_id, password_hash, changed=True)
            self._revoke_sessions(conn, user_id, keep=keep_session)
            self._revoke_tokens(conn, user_id)

    def password_hash(self, user_id: t.Any) -> str | None:
        """The user's password hash; ``None`` if there is no such user.

        .. versionadded:: 0.2
        """
        users = self.users
        with self._connect() as conn:
            value = conn.scalar(select(users.password_hash).where(users.id == user_id))
        return None if value is None else str(value)

    def replace_password(self, user_id: t.Any, old_hash: str, password: str) -> bool:
        """:meth:`set_password`, ending every session, only if the hash is still
        ``old_hash``: a reset link sets a password once, however often it is posted.

        :return: whether the password changed.

        .. versionadded:: 0.2
        """
        users = self.users
        values: dict[t.Any, t.Any] = {users.password_hash: passwords.hash_password(password)}
        values.update(users.password_changed_values(utcnow()))
        with self._begin() as conn:
            result = conn.execute(
                update(users.table)
                .where(users.id == user_id, users.password_hash == old_hash)
                .values(values)
            )
            if not result.rowcount:
                return False
            self._revoke_sessions(conn, user_id, keep=None)
            self._revoke_tokens(conn, user_id)
        return True

    def rehash(self, user_id: t.Any, password: str) -> None:
        password_hash = passwords.hash_password(password)
        with self._begin() as conn:
            self._set_hash(conn, user_id, password_hash, changed=False)

    def _set_hash(
        self, conn: Connection, user_id: t.Any, password_hash: str, changed: bool
    ) -> None:
        users = self.users
        values: dict[t.Any, t.Any] = {users.password_hash: password_hash}
        if changed:
            values.update(users.password_changed_values(utcnow()))
        conn.execute(update(users.table).where(users.id == user_id).values(values))

    # login sessions ----------------------------------------------------------------------

    def start_session(self, user_id: t.Any, lifetime: timedelta) -> str:
        """Record a login session; return its id, to keep in the signed session cookie."""
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        with self._begin() as conn:
            conn.execute(
                insert(self.tables.login_sessions).values(
                    id_hash=digest(session_id),
                    user_id=user_id,
                    created_at=now,
                    expires_at=now + lifetime,
                )
            )
        return session_id

    def session_user(self, session_id: str) -> t.Any | None:
        """The user of a live login session: one indexed query, built once."""
        with self._connect() as conn:
            row = conn.execute(
                self._session_user, {"id_hash": digest(session_id), "now": utcnow()}
            ).first()
        return None if row is None else self._user(row)

    def end_session(self, session_id: str) -> None:
        with self._begin() as conn:
            conn.execute(
                delete(self.tables.login_sessions).where(
                    self.tables.login_sessions.c.id_hash == digest(session_id)
                )
            )

    def end_other_sessions(self, user_id: t.Any, keep: str | None) -> None:
        """Log out everywhere else: end every session of the user but ``keep`` and every
        remember-me token, and revoke every API token.

        .. versionchanged:: 0.2
            API tokens are revoked too.
        """
        with self._begin() as conn:
            self._revoke_sessions(conn, user_id, keep=keep)
            self._revoke_tokens(conn, user_id)

    def _revoke_sessions(self, conn: Connection, user_id: t.Any, keep: str | None) -> None:
        query = delete(self.tables.login_sessions).where(
            self.tables.login_sessions.c.user_id == user_id
        )
        if keep is not None:
            query = query.where(self.tables.login_sessions.c.id_hash != digest(keep))
        conn.execute(query)
        conn.execute(
            delete(self.tables.remember_tokens).where(
                self.tables.remember_tokens.c.user_id == user_id
            )
        )

    def _revoke_everything(self, conn: Connection, user_id: t.Any) -> None:
        self._revoke_sessions(conn, user_id, keep=None)
        # SQLite enforces no foreign keys unless asked: delete what references the user.
        for table in (self.tables.api_tokens, self.tables.two_factor, self.tables.recovery_codes):
            conn.execute(delete(table).where(table.c.user_id == user_id))
        conn.execute(self._delete_pending(user_id))

    # remember-me ---------------------------------------------------------------------------

    def issue_remember_token(self, user_id: t.Any, lifetime: timedelta) -> str:
        """A ``selector:validator`` token; only the validator's hash is stored."""
        selector, validator = secrets.token_hex(12), secrets.token_urlsafe(32)
        with self._begin() as conn:
            conn.execute(
                insert(self.tables.remember_tokens).values(
                    selector=selector,
                    validator_hash=digest(validator),
                    user_id=user_id,
                    expires_at=utcnow() + lifetime,
                )
            )
        return f"{selector}:{validator}"

    def use_remember_token(self, token: str) -> t.Any | None:
        """The user id of a valid, unused token, which is used up by this call (the
        caller issues a new one).

        A token used a second time, or a wrong validator for a known selector, means a
        copy was stolen: every session and remember-me token of that user ends, and every
        API token is revoked (the thief may have made one while logged in).

        .. versionchanged:: 0.2
            API tokens are revoked too.
        """
        selector, _, validator = token.partition(":")
        now = utcnow()
        with self._begin() as conn:
            row = conn.execute(
                select(self.tables.remember_tokens).where(
                    self.tables.remember_tokens.c.selector == selector
                )
            ).first()
            if row is None or row.expires_at <= now:
                return None
            stolen = row.used_at is not None or not secrets.compare_digest(
                row.validator_hash, digest(validator)
            )
            if stolen:
                self._revoke_sessions(conn, row.user_id, keep=None)
                self._revoke_tokens(conn, row.user_id)
                return None
            conn.execute(
                update(self.tables.remember_tokens)
                .where(self.tables.remember_tokens.c.selector == selector)
                .values(used_at=now)
            )
            return row.user_id

    def forget_remember_token(self, token: str) -> None:
        """Delete a token at logout: it is neither valid nor a sign of theft any more."""
        selector = token.partition(":")[0]
        with self._begin() as conn:
            conn.execute(
                delete(self.tables.remember_tokens).where(
                    self.tables.remember_tokens.c.selector == selector
                )
            )

    # API tokens ----------------------------------------------------------------------------

    def create_token(
        self,
        user_id: t.Any,
        name: str,
        lifetime: timedelta | None = None,
        scopes: t.Iterable[str] = (),
    ) -> tuple[int, str]:
        """Create an API token; the token itself is returned once and never stored.

        :param name: what it is for; 1 to 100 characters.
        :param lifetime: how long it works; ``None``: until revoked.
        :param scopes: what it may be used for; none by default (not all).
        :return: the token's id and the token.
        :raises ValueError: if the name is empty or too long for its column, or a scope is
            not one scope name.

        .. versionchanged:: 0.2
            ``lifetime`` and ``scopes``; names are checked here, not by the database.
        """
        if not 0 < len(name) <= self.tables.api_tokens.c.name.type.length:  # type: ignore[attr-defined]
            raise ValueError("a token name has 1 to 100 characters")
        scope_text = " ".join(sorted(set(names.check_scopes(scopes)))) or None
        token = "fpa_" + secrets.token_urlsafe(32)
        now = utcnow()
        with self._begin() as conn:
            result = conn.execute(
                insert(self.tables.api_tokens).values(
                    token_hash=digest(token),
                    user_id=user_id,
                    name=name,
                    created_at=now,
                    expires_at=None if lifetime is None else now + lifetime,
                    scopes=scope_text,
                )
            )
        return int(result.inserted_primary_key[0]), token  # type: ignore[index]

    def token_user(self, token: str) -> t.Any | None:
        """The user of a token that is neither revoked nor expired."""
        found = self.token_grant(token)
        return None if found is None else found[0]

    def token_grant(self, token: str) -> tuple[t.Any, frozenset[str]] | None:
        """The user and the scopes of a token that is neither revoked nor expired: one
        indexed query, built once.

        .. versionadded:: 0.2
        """
        with self._connect() as conn:
            row = conn.execute(
                self._token_user, {"token_hash": digest(token), "now": utcnow()}
            ).first()
        if row is None:
            return None
        user = self._user(row)
        return None if user is None else (user, _scopes(row.token_scopes))

    def revoke_tokens(self, user_id: t.Any) -> int:
        """Revoke every API token of a user; return how many were active.

        .. versionadded:: 0.2
        """
        with self._begin() as conn:
            return self._revoke_tokens(conn, user_id)

    def _revoke_tokens(self, conn: Connection, user_id: t.Any) -> int:
        result = conn.execute(
            update(self.tables.api_tokens)
            .where(
                self.tables.api_tokens.c.user_id == user_id,
                self.tables.api_tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        return int(result.rowcount)

    def revoke_token(self, token_id: int) -> bool:
        with self._begin() as conn:
            result = conn.execute(
                update(self.tables.api_tokens)
                .where(
                    self.tables.api_tokens.c.id == token_id,
                    self.tables.api_tokens.c.revoked_at.is_(None),
                )
                .values(revoked_at=utcnow())
            )
        return bool(result.rowcount)

    def tokens(self, user_id: t.Any) -> list[ApiToken]:
        """A user's API tokens, oldest first, revoked ones included (expired ones until
        :meth:`purge_expired`).

        .. versionadded:: 0.2
        """
        columns = ("id", "name", "created_at", "expires_at", "revoked_at", "scopes")
        with self._connect() as conn:
            rows = conn.execute(
                select(*(self.tables.api_tokens.c[name] for name in columns))
                .where(self.tables.api_tokens.c.user_id == user_id)
                .order_by(self.tables.api_tokens.c.id)
            )
            return [
                ApiToken(row.id, row.name, row.created_at, row.expires_at, row.revoked_at,
                         _scopes(row.scopes))
                for row in rows
            ]  # fmt: skip

    # failed logins -------------------------------------------------------------------------

    def failures(self, keys: t.Sequence[str], window: timedelta) -> dict[str, tuple[int, datetime]]:
        """Failures counted within the window, by key, with when the window started."""
        since = utcnow() - window
        with self._connect() as conn:
            rows = conn.execute(
                select(self.tables.failed_logins).where(
                    self.tables.failed_logins.c.key.in_(keys),
                    self.tables.failed_logins.c.window_start > since,
                )
            )
            return {row.key: (row._mapping["count"], row.window_start) for row in rows}

    def record_failure(self, keys: t.Sequence[str], window: timedelta) -> None:
        """Count one failure against each key, whatever its count (no limit is checked)."""
        now = utcnow()
        with self._begin() as conn:
            for key in keys:
                self._count_attempt(conn, key, now, now - window)

    def reserve_attempt(self, limits: t.Mapping[str, int], window: timedelta) -> float | None:
        """Count one login attempt against every key at once, unless a key is at its limit.

        Each key's count is raised and read back in one statement, and its row stays
        locked until the transaction ends, so concurrent attempts cannot all read a count
        under the limit before any of them is recorded. If a key would go over its limit,
        the transaction is rolled back: a refused attempt counts against nothing.

        :param limits: the most attempts each key may have within ``window``.
        :return: ``None`` when the attempt may go on (it now counts as a failure until
            :meth:`release_attempt`), else the seconds until the full key's window ends.

        .. versionadded:: 0.2
        """
        now = utcnow()
        with self._connect() as conn, conn.begin() as transaction:
            for key, limit in limits.items():
                count, started = self._count_attempt(conn, key, now, now - window)
                if count > limit:
                    transaction.rollback()
                    return max(0.0, (started + window - utcnow()).total_seconds())
        return None

    def _count_attempt(
        self, conn: Connection, key: str, now: datetime, since: datetime
    ) -> tuple[int, datetime]:
        """Add one to ``key``'s count (a window that has passed starts again) and return
        the new count and when its window started."""
        expired = self.tables.failed_logins.c.window_start <= since
        values = {
            "count": case((expired, 1), else_=self.tables.failed_logins.c["count"] + 1),
            "window_start": case((expired, now), else_=self.tables.failed_logins.c.window_start),
        }
        returned = (self.tables.failed_logins.c["count"], self.tables.failed_logins.c.window_start)
        if self._upsert is not None:
            statement = (
                self._upsert(self.tables.failed_logins)
                .values(key=key, count=1, window_start=now)
                .on_conflict_do_update(
                    index_elements=[self.tables.failed_logins.c.key], set_=values
                )
                .returning(*returned)
            )
            row = conn.execute(statement).one()
            return int(row[0]), row[1]
        # Other databases: the UPDATE locks the row until the transaction ends, and the
        # SELECT after it in the same transaction reads this transaction's own count.
        updated = conn.execute(
            update(self.tables.failed_logins)
            .where(self.tables.failed_logins.c.key == key)
            .values(values)
        )
        if not updated.rowcount:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(self.tables.failed_logins).values(key=key, count=1, window_start=now)
                    )
                return 1, now
            except IntegrityError:  # another attempt inserted it first: count on its row
                conn.execute(
                    update(self.tables.failed_logins)
                    .where(self.tables.failed_logins.c.key == key)
                    .values(values)
                )
        row = conn.execute(select(*returned).where(self.tables.failed_logins.c.key == key)).one()
        return int(row[0]), row[1]

    def release_attempt(self, keys: t.Sequence[str]) -> None:
        """Take back one attempt counted by :meth:`reserve_attempt` (the login succeeded).

        .. versionadded:: 0.2
        """
        with self._begin() as conn:
            conn.execute(
                update(self.tables.failed_logins)
                .where(
                    self.tables.failed_logins.c.key.in_(keys),
                    self.tables.failed_logins.c["count"] > 0,
                )
                .values(count=self.tables.failed_logins.c["count"] - 1)
            )

    def clear_failures(self, keys: t.Sequence[str]) -> None:
        with self._begin() as conn:
            conn.execute(
                delete(self.tables.failed_logins).where(self.tables.failed_logins.c.key.in_(keys))
            )

    def purge_expired(self, failure_window: timedelta) -> int:
        """Delete expired login sessions, remember-me tokens and API tokens, and failure
        counts whose window has passed; return how many rows went.

        .. versionchanged:: 0.2
            Expired API tokens too.
        """
        now = utcnow()
        with self._begin() as conn:
            removed = conn.execute(
                delete(self.tables.login_sessions).where(
                    self.tables.login_sessions.c.expires_at <= now
                )
            )
            count = removed.rowcount
            removed = conn.execute(
                delete(self.tables.remember_tokens).where(
                    self.tables.remember_tokens.c.expires_at <= now
                )
            )
            count += removed.rowcount
            removed = conn.execute(
                delete(self.tables.api_tokens).where(self.tables.api_tokens.c.expires_at <= now)
            )
            count += removed.rowcount
            removed = conn.execute(
                delete(self.tables.failed_logins).where(
                    self.tables.failed_logins.c.window_start <= now - failure_window
                )
            )
            return int(count + removed.rowcount)

    def count_users(self) -> int:
        with self._connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(self.users.table)) or 0)
