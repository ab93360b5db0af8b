"""The auth options: keyword, then ``AUTH_*`` config key, then default; validated once."""

from __future__ import annotations

import os
import typing as t
from dataclasses import dataclass, replace
from datetime import timedelta
from email.utils import parseaddr

from . import names

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from flask import Flask

PLACEHOLDER_SECRETS = {
    "dev",
    "development",
    "development-key",
    "secret",
    "secret-key",
    "secretkey",
    "changeme",
    "change-me",
    "change_me",
    "unsafe-default-key",
    "default",
    "key",
    "your-secret-key",
    "your_secret_key",
    "super-secret",
    "supersecret",
    "test",
    "testing",
}
"""Secret keys copied from tutorials; refused whatever their length."""


class AuthOptions(t.TypedDict, total=False):
    """Keyword options of :class:`~flask_plug.auth.Auth`; each is also an ``AUTH_*`` config
    key. ``None`` means: not given.

    .. versionadded:: 0.2
    """

    database_uri: str
    url_prefix: str
    login_view: str
    default_next: str
    session_lifetime: timedelta | float
    remember_days: int
    max_failures: int
    max_failures_per_address: int
    failure_window: timedelta | float
    api_basic: bool
    realm: str
    token_lifetime: timedelta | float | None
    db_timeout: float
    login_fields: t.Sequence[str]
    two_factor: bool
    two_factor_required_for: t.Sequence[str]
    two_factor_remember_days: int
    two_factor_issuer: str
    password_reset: bool
    registration: bool
    email_change: bool
    reset_lifetime: timedelta | float
    confirm_lifetime: timedelta | float
    max_mails: int
    max_mails_per_address: int
    mail_server: str
    mail_port: int
    mail_username: str
    mail_password: str
    mail_security: t.Literal["none", "starttls", "ssl"]
    mail_from: str
    mail_timeout: float


@dataclass(frozen=True)
class AuthSettings:
    """The resolved options of one app."""

    database_uri: str
    url_prefix: str
    login_view: str
    default_next: str
    session_lifetime: timedelta
    remember_days: int
    max_failures: int
    max_failures_per_address: int
    failure_window: timedelta
    api_basic: bool
    realm: str
    token_lifetime: timedelta | None
    """How long a new API token works when :meth:`Auth.create_token` is given no
    ``lifetime``; ``None``: until revoked.

    .. versionadded:: 0.2
    """
    db_timeout: float
    """Seconds the engine auth opens waits for the database: to connect (PostgreSQL:
    whole seconds, 2 at least), for a pooled connection, for an answer (statement and
    call deadline), for a SQLite lock. Not applied to an engine given to :class:`Auth`.

    .. versionadded:: 0.2
    """
    login_fields: tuple[str, ...]
    """The user attributes a login name is looked up in, in order (``username``,
    ``email``, ...); the first is where :meth:`Auth.register_user` puts the name.

    .. versionadded:: 0.2
    """
    two_factor: bool = False
    """Whether users may turn on a second factor (TOTP codes, recovery codes); needs the
    ``two-factor`` extra.

    .. versionadded:: 0.2
    """
    two_factor_required_for: frozenset[str] = frozenset()
    """Roles whose users must enrol before their login completes.

    .. versionadded:: 0.2
    """
    two_factor_remember_days: int = 0
    """Days a browser may skip the code step after a code was entered on it; 0: never.

    .. versionadded:: 0.2
    """
    two_factor_issuer: str = "app"
    """The name authenticator apps show beside the account (default: ``AUTH_REALM``).

    .. versionadded:: 0.2
    """
    password_reset: bool = False
    """Whether ``/auth/reset`` mails password-reset links.

    .. versionadded:: 0.2
    """
    registration: bool = False
    """Whether ``/auth/register`` lets visitors sign up, confirming their address by mail.

    .. versionadded:: 0.2
    """
    email_change: bool = False
    """Whether ``/auth/email`` lets users change their address, confirmed by mail.

    .. versionadded:: 0.2
    """
    reset_lifetime: timedelta = timedelta(hours=1)
    """How long a password-reset link works.

    .. versionadded:: 0.2
    """
    confirm_lifetime: timedelta = timedelta(days=2)
    """How long a registration or email-change confirmation link works.

    .. versionadded:: 0.2
    """
    max_mails: int = 3
    """The most mails one account (as typed) may be sent within ``AUTH_FAILURE_WINDOW``.

    .. versionadded:: 0.2
    """
    max_mails_per_address: int = 10
    """The most mail-sending requests one client address may make within
    ``AUTH_FAILURE_WINDOW``.

    .. versionadded:: 0.2
    """
    mail: MailSettings | None = None
    """How mail is sent; ``None`` while no mail feature is on.

    .. versionadded:: 0.2
    """

    @property
    def mails(self) -> bool:
        """Whether a feature that sends mail is on."""
        return self.password_reset or self.registration or self.email_change


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server of the default mail sender, and the sender's address.

    .. versionadded:: 0.2
    """

    server: str
    port: int
    username: str | None
    password: str | None
    security: str
    """``"none"``, ``"starttls"`` or ``"ssl"``."""
    sender: str
    """``AUTH_MAIL_FROM``: the ``From`` of every mail."""
    timeout: float


def check_secret_key(app: Flask) -> None:
    """Refuse to start without a real secret key: it signs every session cookie.

    ``SECRET_KEY`` and each key in ``SECRET_KEY_FALLBACKS`` must be 32 bytes or more, not a
    tutorial placeholder, and look random: at least :data:`MIN_DISTINCT_BYTES` different
    bytes, no one byte making up half of it, and not a shorter pattern repeated.

    .. versionchanged:: 0.2
        Keys with too little entropy are refused; ``SECRET_KEY_FALLBACKS`` is checked too.
    """
    secret = app.config.get("SECRET_KEY")
    if not secret:
        raise RuntimeError(
            "SECRET_KEY is not set: it signs the session cookies that keep users logged in."
            " Set it to a random value of 32 bytes or more, for example the output of"
            " `python -c 'import secrets; print(secrets.token_hex(32))'`"
        )
    _check_key("SECRET_KEY", secret)
    fallbacks = app.config.get("SECRET_KEY_FALLBACKS") or []
    if isinstance(fallbacks, (str, bytes)) or not isinstance(fallbacks, (list, tuple)):
        raise RuntimeError(
            "SECRET_KEY_FALLBACKS must be a list of old secret keys (or empty), got"
            f" {type(fallbacks).__name__}"
        )
    for index, fallback in enumerate(fallbacks):
        _check_key(f"SECRET_KEY_FALLBACKS[{index}]", fallback)


MIN_DISTINCT_BYTES = 8
"""The fewest different bytes a secret key may have. Not 16: a hex key (``token_hex``) has
only 16 symbols, and a quarter of ``token_hex(32)`` keys do not use all of them; a random
hex key of 32 characters has fewer than 8 about once in 30 million."""


def _check_key(name: str, secret: object) -> None:
    """Raise naming the key (never showing a key that may be real) if it is weak."""
    if not isinstance(secret, (str, bytes, bytearray)):
        raise RuntimeError(f"{name} must be a string or bytes, got {type(secret).__name__}")
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise RuntimeError(f"{name} is empty; use secrets.token_hex(32)")
    if raw.decode(errors="replace").strip().lower() in PLACEHOLDER_SECRETS:
        raise RuntimeError(f"{name} {secret!r} is a well-known placeholder; use a random one")
    if len(raw) < 32:
        raise RuntimeError(
            f"{name} is {len(raw)} bytes long; use 32 random bytes or more (secrets.token_hex(32))"
        )
    problem = _low_entropy(raw)
    if problem is not None:
        raise RuntimeError(
            f"{name} {problem}: it is not random. Use secrets.token_hex(32) or os.urandom(32)"
        )


def _low_entropy(raw: bytes) -> str | None:
    """Why a key of 32 bytes or more is too predictable to sign with, or ``None``."""
    distinct = len(set(raw))
    if distinct < MIN_DISTINCT_BYTES:
        return f"has only {distinct} distinct bytes (a random key has {MIN_DISTINCT_BYTES} or more)"
    if max(raw.count(byte) for byte in set(raw)) * 2 >= len(raw):
        return "repeats one byte in half of it or more"
    for period in range(1, len(raw) // 2 + 1):
        if raw[period:] == raw[:-period]:  # equal to itself shifted: a repeated pattern
            return f"repeats a pattern of {period} bytes"
    return None


MAX_LIFETIME = timedelta(days=100 * 365)
"""The longest token lifetime: longer ones would overflow dates and mean "never" anyway."""


def check_lifetime(value: object) -> timedelta:
    """A lifetime from a :class:`~datetime.timedelta` or a number of seconds, above zero
    and at most :data:`MAX_LIFETIME`.

    :raises ValueError: for anything else.
    """
    given = value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            value = timedelta(seconds=value)
        except (OverflowError, ValueError):  # infinity, NaN, or too large
            pass
    if not isinstance(value, timedelta) or not timedelta(0) < value <= MAX_LIFETIME:
        raise ValueError(
            "a lifetime is a positive number of seconds or a timedelta of at most 100 years,"
            f" got {given!r}"
        )
    return value


class _Config:
    """Reads each option: the keyword argument, else the app's config key, else the default.

    ``None`` counts as not given, so ``None`` anywhere means "use the default".
    """

    def __init__(
        self, app: Flask, options: Mapping[str, t.Any], known: type, prefix: str, owner: str
    ) -> None:
        self.check(options, known, owner)
        self.app = app
        self.options = options
        self.prefix = prefix

    @staticmethod
    def check(options: Mapping[str, t.Any], known: type, owner: str) -> None:
        """Refuse the keyword options the ``TypedDict`` ``known`` does not declare; needs
        no app, so an option can be refused where it is given.

        :raises TypeError: naming the unknown options.
        """
        unknown = set(options) - set(known.__annotations__)
        if unknown:
            raise TypeError(f"unknown {owner} option(s): {', '.join(sorted(unknown))}")

    def key(self, option: str) -> str:
        """The config key of ``option``: ``"max_age"`` -> ``"CORS_MAX_AGE"``."""
        return f"{self.prefix}{option.upper()}"

    def value(self, option: str, default: t.Any) -> t.Any:
        """The keyword value, else the config value, else ``default``."""
        value = self.options.get(option)
        if value is None:
            value = self.app.config.get(self.key(option))
        return default if value is None else value

    def flag(self, option: str, default: bool) -> bool:
        """A value that must be ``True`` or ``False``."""
        value = self.value(option, default)
        if not isinstance(value, bool):
            raise ValueError(f"{self.key(option)} must be True or False, got {value!r}")
        return value


def resolve(app: Flask, options: Mapping[str, t.Any], *, need_database_uri: bool) -> AuthSettings:
    """Merge keyword ``options`` over ``app.config`` over defaults, and validate each value.

    :param need_database_uri: whether auth opens the database itself (no engine given).
    :raises TypeError: for an unknown option.
    :raises ValueError: naming the config key and what it expects.
    """
    config = _Config(app, options, AuthOptions, "AUTH_", "Auth")
    settings = AuthSettings(
        database_uri=_database_uri(config, "database_uri", need_database_uri),
        url_prefix=_path(config, "url_prefix", "/auth"),
        login_view=_text(config, "login_view", "auth.login"),
        default_next=_path(config, "default_next", "/"),
        session_lifetime=_duration(config, "session_lifetime", timedelta(days=7)),
        remember_days=_whole_number(config, "remember_days", 0, minimum=0),
        max_failures=_whole_number(config, "max_failures", 5, minimum=1),
        max_failures_per_address=_whole_number(config, "max_failures_per_address", 20, minimum=1),
        failure_window=_duration(config, "failure_window", timedelta(minutes=15)),
        api_basic=config.flag("api_basic", False),
        realm=_realm(config, "realm"),
        token_lifetime=_token_lifetime(config, "token_lifetime"),
        db_timeout=_db_timeout(config, "db_timeout", 2.0),
        login_fields=_login_fields(config, "login_fields"),
        **_two_factor(config),
        password_reset=config.flag("password_reset", False),
        registration=config.flag("registration", False),
        email_change=config.flag("email_change", False),
        reset_lifetime=_duration(config, "reset_lifetime", timedelta(hours=1)),
        confirm_lifetime=_duration(config, "confirm_lifetime", timedelta(days=2)),
        max_mails=_whole_number(config, "max_mails", 3, minimum=1),
        max_mails_per_address=_whole_number(config, "max_mails_per_address", 10, minimum=1),
    )
    mail = _mail(config, required=settings.mails)  # checked even while unused
    return replace(settings, mail=mail) if settings.mails else settings


def _mail(config: _Config, *, required: bool) -> MailSettings:
    server = _text(config, "mail_server", "localhost")
    port = config.value("mail_port", 25)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        _fail(config, "mail_port", "a port number, 1 to 65535", port)
    username = config.value("mail_username", None)
    password = config.value("mail_password", None)
    if username is not None and not (isinstance(username, str) and username):
        _fail(config, "mail_username", "a non-empty string or None", username)
    if password is not None and not isinstance(password, str):
        # Not shown: it may be the real password of the wrong type.
        raise ValueError("AUTH_MAIL_PASSWORD must be a string or None")
    if (username is None) != (password is None):
        raise ValueError(
            "AUTH_MAIL_USERNAME and AUTH_MAIL_PASSWORD are given together or not at all"
        )
    security = config.value("mail_security", "none")
    if security not in ("none", "starttls", "ssl"):
        _fail(config, "mail_security", "'none', 'starttls' or 'ssl'", security)
    sender = config.value("mail_from", None)
    if sender is None:
        if required:
            raise ValueError(
                "AUTH_MAIL_FROM must be set once AUTH_PASSWORD_RESET, AUTH_REGISTRATION or"
                " AUTH_EMAIL_CHANGE is on: it is the From address of the mails auth sends,"
                " for example 'Example <no-reply@example.com>'"
            )
        sender = ""
    elif not _is_mailbox(sender):
        _fail(config, "mail_from", "an address such as 'Example <no-reply@example.com>'", sender)
    timeout = config.value("mail_timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < 1e6:
        _fail(config, "mail_timeout", "a positive number of seconds", timeout)
    return MailSettings(server, port, username, password, security, sender, float(timeout))


def _is_mailbox(value: object) -> bool:
    """Whether ``value`` is one address, bare or with a display name, that fits a header."""
    if not isinstance(value, str) or any(ord(c) < 0x20 or c == "\x7f" for c in value):
        return False
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    return bool(local and at and domain) and " " not in address


def _fail(config: _Config, option: str, expected: str, value: object) -> t.NoReturn:
    raise ValueError(f"{config.key(option)} must be {expected}, got {value!r}")


def _text(config: _Config, option: str, default: str) -> str:
    value = config.value(option, default)
    if not isinstance(value, str) or not value:
        _fail(config, option, "a non-empty string", value)
    return value


def _path(config: _Config, option: str, default: str) -> str:
    value = config.value(option, default)
    if not isinstance(value, str) or not value.startswith("/"):
        _fail(config, option, "a path starting with '/'", value)
    return value


def _database_uri(config: _Config, option: str, need_database_uri: bool) -> str:
    """The URI given, else SQLite in the instance folder, else (an engine was given to
    :class:`Auth`) a note saying so."""
    if config.value(option, None) is None and need_database_uri:
        os.makedirs(config.app.instance_path, exist_ok=True)
        return "sqlite:///" + os.path.join(config.app.instance_path, "auth.db")
    return _text(config, option, "(the engine given to Auth)")


def _duration(config: _Config, option: str, default: timedelta) -> timedelta:
    """A positive :class:`~datetime.timedelta`, or a number of seconds; reported as given."""
    given = config.value(option, default)
    value = given
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            value = timedelta(seconds=value)
        except (OverflowError, ValueError):  # infinity, NaN, or too large
            pass
    if not isinstance(value, timedelta) or value <= timedelta(0):
        _fail(config, option, "a positive number of seconds or a timedelta", given)
    return value


def _whole_number(config: _Config, option: str, default: int, *, minimum: int) -> int:
    value = config.value(option, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(config, option, f"a whole number >= {minimum}", value)
    return value


def _realm(config: _Config, option: str) -> str:
    """The ``realm`` of ``WWW-Authenticate``: text that needs no quoting."""
    value = _text(config, option, "app")
    if any(c in value for c in '"\\\r\n'):
        _fail(config, option, "text without quotes, backslashes or line breaks", value)
    return value


def _token_lifetime(config: _Config, option: str) -> timedelta | None:
    value = config.value(option, None)
    if value is None:
        return None
    try:
        return check_lifetime(value)
    except ValueError:
        _fail(config, option, "None, or a positive number of seconds or timedelta", value)


def _db_timeout(config: _Config, option: str, default: float) -> float:
    """Positive seconds. Unlike the other keys, ``AUTH_DB_TIMEOUT = None`` is refused, not
    read as the default: "no timeout" is not on offer, and must not look as if it were."""
    value = config.options.get(option)
    if value is None:
        value = config.app.config.get(config.key(option), default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e6:
        _fail(config, option, "a positive number of seconds", value)  # NaN fails too
    return float(value)


def _login_fields(config: _Config, option: str) -> tuple[str, ...]:
    value = config.value(option, ("username",))
    if (
        isinstance(value, str)
        or not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(field, str) and field.isidentifier() for field in value)
        or len(set(value)) != len(value)
    ):
        _fail(
            config,
            option,
            "a list of one or more attribute names, such as ['username', 'email']",
            value,
        )
    return tuple(value)


def _two_factor(config: _Config) -> dict[str, t.Any]:
    enabled = config.flag("two_factor", False)
    required = config.value("two_factor_required_for", ())
    expected = "a list of role names, such as ['admin']"
    if isinstance(required, str) or not isinstance(required, (list, tuple, set, frozenset)):
        _fail(config, "two_factor_required_for", expected, required)
    try:
        roles = frozenset(names.check_roles(required))
    except ValueError:
        _fail(config, "two_factor_required_for", expected, required)
    if roles and not enabled:
        _fail(config, "two_factor_required_for", "empty while AUTH_TWO_FACTOR is off", required)
    issuer = _text(config, "two_factor_issuer", _realm(config, "realm"))
    if ":" in issuer or any(ord(c) < 32 for c in issuer):
        _fail(config, "two_factor_issuer", "text without colons or control characters", issuer)
    return {
        "two_factor": enabled,
        "two_factor_required_for": roles,
        "two_factor_remember_days": _whole_number(config, "two_factor_remember_days", 0, minimum=0),
        "two_factor_issuer": issuer,
    }
