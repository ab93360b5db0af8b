"""The tables: users, login sessions, API tokens, remember-me tokens, failed-login counters."""

from __future__ import annotations

# Times are naive UTC: SQLite keeps no time zone, and both databases then compare alike.
from sqlalchemy import (
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
)

login_sessions = Table(
    "auth_login_sessions",
    metadata,
    # SHA-256 of the id kept in the signed cookie: a leaked table opens no session.
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("auth_users.id", ondelete="CASCADE"), index=True),
    Column("created_at", DateTime(), nullable=False),
    Column("expires_at", DateTime(), nullable=False),
)

api_tokens = Table(
    "auth_api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("auth_users.id", ondelete="CASCADE"), index=True),
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
    Column("user_id", Integer, ForeignKey("auth_users.id", ondelete="CASCADE"), index=True),
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
