"""``flask auth ...``: tables, users and API tokens from the command line."""

from __future__ import annotations

import re
import typing as t
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from . import names, passwords
from ._state import get_state
from .otp import TwoFactorStore
from .settings import check_lifetime
from .store import ApiToken, Store

auth_cli = AppGroup("auth", help="Manage users and API tokens.")


def _store() -> Store:
    return get_state(current_app).store


def _password(prompt: str) -> str:
    password: str = click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    problem = passwords.check_password_policy(password)
    if problem is not None:
        raise click.ClickException(problem)
    return password


_DURATION = re.compile(r"(\d{1,10})([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _lifetime(ctx: click.Context, param: click.Parameter, value: str | None) -> timedelta | None:
    """``--lifetime``: seconds, or a number with s, m, h or d."""
    if value is None:
        return None
    match = _DURATION.fullmatch(value.strip().lower())
    try:
        if match is None:
            raise ValueError(value)
        return check_lifetime(int(match[1]) * _UNITS[match[2]])
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a lifetime: use seconds or a number with s, m, h or d"
            " (90m, 12h, 30d), above zero and at most 100 years",
            ctx,
            param,
        ) from None


def _when(moment: datetime | None) -> str:
    return "never expires" if moment is None else f"expires {moment:%Y-%m-%d %H:%M:%S} UTC"


def _scopes(scopes: frozenset[str]) -> str:
    return f"scopes {' '.join(sorted(scopes))}" if scopes else "no scopes"


def _state_of(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "active" if token.active else "expired"


def _user_id(username: str) -> t.Any:
    found = _store().find_user(username)
    if found is None:
        raise click.ClickException(f"no user named {username!r}")
    return _store().users.user_id(found[0])


@auth_cli.command("init-db")
def init_db() -> None:
    """Create the tables (existing ones are left alone)."""
    _store().create_tables()
    click.echo(f"tables ready in {_store().engine.url.render_as_string(hide_password=True)}")


@auth_cli.command("purge")
def purge() -> None:
    """Delete expired sessions and tokens and old failure counts (logins also do this)."""
    count = _store().purge_expired(get_state(current_app).settings.failure_window)
    click.echo(f"removed {count} expired rows")


@auth_cli.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, help="A role to give; repeat for several.")
def create_user(username: str, roles: tuple[str, ...]) -> None:
    """Create USERNAME, asking for the password twice without showing it.

    The name is stored NFKC-normalised; a role is one name of ASCII letters, digits,
    ``_``, ``.``, ``:`` or ``-`` (repeat ``--role`` for several).
    """
    try:  # before asking for a password that would be thrown away
        username = names.check_username(username)
        names.check_roles(roles)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    password = _password("Password")
    try:
        user = _store().create_user(username, password, roles)
    except ValueError as e:  # UserExists too
        raise click.ClickException(str(e)) from None
    users = _store().users
    shown = ", ".join(sorted(users.roles(user))) or "no roles"
    click.echo(f"created {users.login_name(user)} ({shown})")


@auth_cli.command("set-password")
@click.argument("username")
def set_password(username: str) -> None:
    """Set USERNAME's password; their login sessions end and their API tokens are revoked."""
    user_id = _user_id(username)
    _store().set_password(user_id, _password("New password"))
    click.echo(f"password of {username} changed; their sessions were ended and API tokens revoked")


@auth_cli.command("list-users")
def list_users() -> None:
    """List users, their roles, and whether they are inactive."""
    users = _store().users
    for user in _store().list_users():
        roles = ",".join(sorted(users.roles(user)))
        inactive = "" if users.is_active(user) else "  (inactive)"
        click.echo(f"{users.user_id(user)!s:>5}  {users.login_name(user):30}  {roles}{inactive}")


@auth_cli.command("deactivate")
@click.argument("username")
def deactivate(username: str) -> None:
    """Deactivate USERNAME: no login; their sessions end and API tokens are revoked."""
    _set_active(username, False)
    click.echo(f"deactivated {username}; their sessions were ended and API tokens revoked")


@auth_cli.command("activate")
@click.argument("username")
def activate(username: str) -> None:
    """Let USERNAME log in again."""
    _set_active(username, True)
    click.echo(f"activated {username}")


def _set_active(username: str, active: bool) -> None:
    try:
        _store().set_active(_user_id(username), active)
    except ValueError as e:
        raise click.ClickException(str(e)) from None


@auth_cli.command("delete-user")
@click.argument("username")
@click.confirmation_option(prompt="Delete this user, their sessions and tokens?")
def delete_user(username: str) -> None:
    """Delete USERNAME with their sessions and API tokens."""
    if not _store().delete_user(username):
        raise click.ClickException(f"no user named {username!r}")
    click.echo(f"deleted {username}")


@auth_cli.command("disable-two-factor")
@click.argument("username")
@click.confirmation_option(prompt="Turn off this user's second factor?")
def disable_two_factor(username: str) -> None:
    """Turn off USERNAME's second factor (they lost their authenticator and recovery codes).

    .. versionadded:: 0.2
    """
    store = _store()
    found = store.find_user(username)
    if found is None:
        raise click.ClickException(f"no user named {username!r}")
    if not TwoFactorStore(store).disable(store.users.user_id(found[0])):
        raise click.ClickException(f"{username} has no second factor")
    click.echo(f"second factor of {username} turned off")


@auth_cli.command("create-token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--lifetime",
    callback=_lifetime,
    metavar="DURATION",
    help="How long it works: seconds, or 90m, 12h, 30d. Default: AUTH_TOKEN_LIFETIME"
    " (unset: until revoked).",
)
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="A scope the token gets; repeat for several. Default: none (not all).",
)
def create_token(
    username: str, name: str, lifetime: timedelta | None, scopes: tuple[str, ...]
) -> None:
    """Create an API token for USERNAME; it is shown once, here.

    A token made without ``--scope`` has no scopes: it reaches only views that need none.
    """
    if lifetime is None:
        lifetime = get_state(current_app).settings.token_lifetime
    user_id = _user_id(username)
    try:
        token_id, token = _store().create_token(user_id, name, lifetime, scopes)
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    created = next(tok for tok in _store().tokens(user_id) if tok.id == token_id)
    click.echo(
        f"token {token_id} for {username}, {_when(created.expires_at)},"
        f" {_scopes(created.scopes)} (shown once, keep it safe):"
    )
    click.echo(token)


@auth_cli.command("list-tokens")
@click.argument("username")
def list_tokens(username: str) -> None:
    """List USERNAME's API tokens: id, name, when each expires, its scopes, and whether
    it works."""
    for token in _store().tokens(_user_id(username)):
        click.echo(
            f"{token.id:5}  {token.name:30}  created {token.created_at:%Y-%m-%d %H:%M:%S} UTC"
            f"  {_when(token.expires_at):34}  {_scopes(token.scopes)}  {_state_of(token)}"
        )


@auth_cli.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke the API token with id TOKEN_ID."""
    if not _store().revoke_token(token_id):
        raise click.ClickException(f"no active token with id {token_id}")
    click.echo(f"revoked token {token_id}")
