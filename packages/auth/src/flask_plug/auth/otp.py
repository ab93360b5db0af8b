"""The second factor's data: TOTP secrets and codes (RFC 6238), recovery codes, QR codes.

``pyotp`` and ``segno`` (the ``two-factor`` extra) are imported on first use, so auth
works without them while ``AUTH_TWO_FACTOR`` is off.

.. versionadded:: 0.2
"""

from __future__ import annotations

import hmac
import secrets
import typing as t
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, or_, select, update

from .store import digest, utcnow

if t.TYPE_CHECKING:
    import pyotp
    from sqlalchemy.engine import Connection

    from .store import Store

STEP = 30
"""Seconds per code (RFC 6238's default, what every authenticator app uses)."""

DRIFT = 1
"""Steps a code may be early or late: one either way allows for clocks and slow typing."""

RECOVERY_CODES = 10
"""How many recovery codes a user gets at once."""

_RECOVERY_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols, none mistaken for another


def require_extra() -> None:
    """Import the ``two-factor`` extra now, at ``init_app``.

    :raises RuntimeError: naming the extra, if it is not installed.
    """
    try:
        import pyotp  # noqa: F401
        import segno  # noqa: F401
    except ImportError as e:
        raise RuntimeError(
            f"AUTH_TWO_FACTOR needs the two-factor extra ({e.name} is missing):"
            " pip install 'flask-plug-auth[two-factor]'"
        ) from None


def _totp(secret: str) -> pyotp.TOTP:
    import pyotp

    return pyotp.TOTP(secret, interval=STEP)


def new_secret() -> str:
    """A random base32 secret of 160 bits."""
    import pyotp

    return pyotp.random_base32(32)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step whose code ``code`` is, within :data:`DRIFT` steps of ``now``."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = _totp(secret)
    current = int(now) // STEP
    found = None
    for step in range(current - DRIFT, current + DRIFT + 1):
        # Every step is compared, in constant time: no early exit tells which one matched.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI authenticator apps read from the QR code."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline ``<svg>`` element, made here: the secret is never
    sent to a QR code service."""
    import segno

    code = segno.make(uri, error="m")
    return code.svg_inline(scale=4, title="QR code for your authenticator app")


def new_recovery_code() -> str:
    """A code of 16 symbols of 5 bits (80 bits), in four groups: ``ABCD-EFGH-JKLM-NPQR``."""
    symbols = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


def normalize_recovery_code(code: str) -> str | None:
    """A recovery code as typed (any case, with or without dashes and spaces), as issued;
    ``None`` if it cannot be one."""
    symbols = "".join(code.split()).replace("-", "").upper()
    if len(symbols) != 16 or any(c not in _RECOVERY_ALPHABET for c in symbols):
        return None
    return "-".join(symbols[i : i + 4] for i in range(0, 16, 4))


@dataclass(frozen=True)
class Enrolment:
    """A user's TOTP secret, confirmed (``enrolled_at``) or not yet."""

    secret: str
    enrolled_at: datetime | None


class TwoFactorStore:
    """The second factor's rows, on a :class:`~flask_plug.auth.Store`'s engine and tables."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.table = store.tables.two_factor
        self.codes = store.tables.recovery_codes

    def enrolment(self, user_id: t.Any) -> Enrolment | None:
        with self.store._connect() as conn:
            row = conn.execute(
                select(self.table.c.secret, self.table.c.enrolled_at).where(
                    self.table.c.user_id == user_id
                )
            ).first()
        return None if row is None else Enrolment(row.secret, row.enrolled_at)

    def enrolled_secret(self, user_id: t.Any) -> str | None:
        """The secret of a user who has turned the second factor on, else ``None``."""
        found = self.enrolment(user_id)
        return found.secret if found is not None and found.enrolled_at is not None else None

    def pending_secret(self, user_id: t.Any) -> str:
        """The unconfirmed secret of a user setting up, made on first call; the same one
        until confirmed, so that reloading the page does not void a scanned QR code.

        :raises ValueError: if the user has confirmed one already.
        """
        found = self.enrolment(user_id)
        if found is not None:
            if found.enrolled_at is not None:
                raise ValueError("two-factor authentication is on already")
            return found.secret
        secret = new_secret()
        with self.store._begin() as conn:
            conn.execute(
                insert(self.table).values(user_id=user_id, secret=secret, created_at=utcnow())
            )
        return secret

    def confirm(self, user_id: t.Any, code: str, now: float) -> list[str] | None:
        """Turn the second factor on if ``code`` is the pending secret's; return the new
        recovery codes (the only time they exist unhashed), else ``None``."""
        found = self.enrolment(user_id)
        if found is None or found.enrolled_at is not None:
            return None
        step = matching_step(found.secret, code, now)
        if step is None:
            return None
        with self.store._begin() as conn:
            confirmed = conn.execute(
                update(self.table)
                .where(
                    self.table.c.user_id == user_id,
                    self.table.c.secret == found.secret,
                    self.table.c.enrolled_at.is_(None),
                )
                .values(enrolled_at=utcnow(), last_step=step)
            )
            if not confirmed.rowcount:  # confirmed meanwhile by another request
                return None
            return self._replace_recovery_codes(conn, user_id)

    def _replace_recovery_codes(self, conn: Connection, user_id: t.Any) -> list[str]:
        codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
        conn.execute(delete(self.codes).where(self.codes.c.user_id == user_id))
        conn.execute(
            insert(self.codes),
            [{"user_id": user_id, "code_hash": digest(code)} for code in codes],
        )
        return codes

    def new_recovery_codes(self, user_id: t.Any) -> list[str]:
        """Replace a user's recovery codes with new ones, returned this once."""
        with self.store._begin() as conn:
            return self._replace_recovery_codes(conn, user_id)

    def recovery_codes_left(self, user_id: t.Any) -> int:
        with self.store._connect() as conn:
            count = conn.scalar(
                select(func.count())
                .select_from(self.codes)
                .where(self.codes.c.user_id == user_id, self.codes.c.used_at.is_(None))
            )
        return int(count or 0)

    def use_code(self, user_id: t.Any, code: str, now: float) -> bool:
        """Accept a TOTP code once, or a recovery code once; ``False`` for anything else.

        A TOTP code is taken only if its step is after the last accepted one, in the same
        statement that records it: the same code, sent twice at once, is taken once.
        """
        code = code.strip().replace(" ", "")
        secret = self.enrolled_secret(user_id)
        if secret is None:
            return False
        step = matching_step(secret, code, now)
        with self.store._begin() as conn:
            if step is not None:
                taken = conn.execute(
                    update(self.table)
                    .where(
                        self.table.c.user_id == user_id,
                        self.table.c.secret == secret,
                        or_(self.table.c.last_step.is_(None), self.table.c.last_step < step),
                    )
                    .values(last_step=step)
                )
                return bool(taken.rowcount)
            recovery = normalize_recovery_code(code)
            if recovery is None:
                return False
            used = conn.execute(
                update(self.codes)
                .where(
                    self.codes.c.user_id == user_id,
                    self.codes.c.code_hash == digest(recovery),
                    self.codes.c.used_at.is_(None),
                )
                .values(used_at=utcnow())
            )
            return bool(used.rowcount)

    def disable(self, user_id: t.Any) -> bool:
        """Forget a user's secret (confirmed or not) and recovery codes; ``True`` if the
        second factor was on."""
        with self.store._begin() as conn:
            removed = conn.execute(
                delete(self.table).where(
                    self.table.c.user_id == user_id, self.table.c.enrolled_at.is_not(None)
                )
            )
            conn.execute(delete(self.table).where(self.table.c.user_id == user_id))
            conn.execute(delete(self.codes).where(self.codes.c.user_id == user_id))
        return bool(removed.rowcount)
