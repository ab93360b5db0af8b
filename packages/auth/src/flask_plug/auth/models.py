"""The tables: users (the built-in table), and what auth keeps per user whatever table the
users are in: login sessions, API tokens, remember-me tokens, failed-login counters,
registrations awaiting confirmation, and the second factor (TOTP secret, recovery codes)."""

from __future__ import annotations

import typing as t

# Times are naive UTC: SQLite keeps no time zone, and both databases then compare alike.
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

users = Table(
    "auth_users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("roles", Text, nullable=False, default=""),
    Column("created_at", DateTime(), nullable=False),
    Column("password_changed_at", DateTime(), nullable=False),
    # Added in 0.2, nullable so that 0.1 rows stay valid: no address; NULL is active.
    Column("email", String(254), nullable=True, index=True),
    Column("active", Boolean(), nullable=True),
)


class Tables(t.NamedTuple):
    """Auth's own tables on one :class:`~sqlalchemy.MetaData`, each row of a user keyed by
    that user's id (deleted with the user)."""

    metadata: MetaData
    login_sessions: Table
    api_tokens: Table
    remember_tokens: Table
    failed_logins: Table
    two_factor: Table
    """A user's TOTP secret; the row of a user who has not confirmed it yet has no
    ``enrolled_at``.

    .. versionadded:: 0.2
    """
    recovery_codes: Table
    """A user's single-use recovery codes, hashed.

    .. versionadded:: 0.2
    """
    pending_confirmations: Table
    """Users who registered and have not yet followed the link mailed to them: inactive
    until then, and told apart from users an admin deactivated.

    .. versionadded:: 0.2
    """


def auth_tables(metadata: MetaData, user_id: Column[t.Any]) -> Tables:
    """Auth's tables on ``metadata``, their ``user_id`` columns referencing ``user_id``
    (the built-in table's id, or the primary key of the app's own user model)."""

    def owner(*, primary_key: bool = False) -> Column[t.Any]:
        """The column naming the user a row belongs to (the key of a one-row-per-user table)."""
        return Column(
            "user_id",
            user_id.type,
            ForeignKey(user_id, ondelete="CASCADE"),
            nullable=False,
            index=not primary_key,
            primary_key=primary_key,
        )

    login_sessions = Table(
        "auth_login_sessions",
        metadata,
        # SHA-256 of the id kept in the signed cookie: a leaked table opens no session.
        Column("id_hash", String(64), primary_key=True),
        owner(),
        Column("created_at", DateTime(), nullable=False),
        Column("expires_at", DateTime(), nullable=False),
    )
    api_tokens = Table(
        "auth_api_tokens",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("token_hash", String(64), nullable=False, unique=True),
        owner(),
        Column("name", String(100), nullable=False),
        Column("created_at", DateTime(), nullable=False),
        Column("revoked_at", DateTime(), nullable=True),
        # Added in 0.2; NULL (every 0.1 token) never expires. Store.create_tables adds it.
        Column("expires_at", DateTime(), nullable=True),
        # Added in 0.2: the token's scopes, space-separated as in OAuth. NULL (every token
        # made before scopes) and "" are no scopes. Store.create_tables adds it.
        Column("scopes", Text, nullable=True),
    )
    remember_tokens = Table(
        "auth_remember_tokens",
        metadata,
        Column("selector", String(32), primary_key=True),
        Column("validator_hash", String(64), nullable=False),
        owner(),
        Column("expires_at", DateTime(), nullable=False),
        # Kept after use until expiry, so a replayed copy is recognised as theft.
        Column("used_at", DateTime(), nullable=True),
    )
    failed_logins = Table(
        "auth_failed_logins",
        metadata,
        Column("key", String(200), primary_key=True),
        Column("count", Integer, nullable=False),
        Column("window_start", DateTime(), nullable=False),
    )
    two_factor = Table(
        "auth_two_factor",
        metadata,
        owner(primary_key=True),
        # Base32, 32 characters (160 bits, RFC 4226's recommended length).
        Column("secret", String(64), nullable=False),
        Column("created_at", DateTime(), nullable=False),
        Column("enrolled_at", DateTime(), nullable=True),  # NULL: not confirmed yet
        # The time step of the last accepted code: no code of it or before is taken again.
        Column("last_step", BigInteger(), nullable=True),
    )
    recovery_codes = Table(
        "auth_recovery_codes",
        metadata,
        Column("id", Integer, primary_key=True),
        owner(),
        Column("code_hash", String(64), nullable=False),
        Column("used_at", DateTime(), nullable=True),
    )
    pending_confirmations = Table(
        "auth_pending_confirmations",
        metadata,
        owner(primary_key=True),
        Column("created_at", DateTime(), nullable=False),
    )
    return Tables(
        metadata,
        login_sessions,
        api_tokens,
        remember_tokens,
        failed_logins,
        two_factor,
        recovery_codes,
        pending_confirmations,
    )


builtin = auth_tables(metadata, users.c.id)
"""The tables of the zero-configuration set-up, beside :data:`users`."""

login_sessions = builtin.login_sessions
api_tokens = builtin.api_tokens
remember_tokens = builtin.remember_tokens
failed_logins = builtin.failed_logins
two_factor = builtin.two_factor
recovery_codes = builtin.recovery_codes
pending_confirmations = builtin.pending_confirmations
