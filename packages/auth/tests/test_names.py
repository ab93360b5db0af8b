"""User names are normalised and bounded before any query; role names are one token each."""

from __future__ import annotations

import typing as t

import pytest
from flask import Flask
from sqlalchemy import event, select

from flask_plug.auth import Auth, User
from flask_plug.auth.models import failed_logins

Login = t.Callable[..., t.Any]
PASSWORD = "carol-long-password"
DOTTED_I = "\N{LATIN CAPITAL LETTER I WITH DOT ABOVE}"  # "İ".lower() is two characters


def cli(app: Flask, *args: str, input: str | None = None) -> t.Any:
    return app.test_cli_runner().invoke(args=["auth", *args], input=input)


def queries_during(app: Flask, auth: Auth, action: t.Callable[[], t.Any]) -> list[str]:
    """The SQL statements run while ``action`` runs (a SQLAlchemy event, not a mock)."""
    with app.app_context():
        engine = auth.store.engine
    statements: list[str] = []

    def record(*args: t.Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


@pytest.mark.parametrize(
    "username",
    [DOTTED_I * 150, DOTTED_I * 76, "a" * 151, "\N{LATIN SMALL LETTER SHARP S}" * 100],
    ids=["150-dotted-I", "76-dotted-I", "151-a", "100-sharp-s"],
)
def test_user_name_too_long_once_folded_is_a_failed_login_without_a_user_query(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    login: Login,
    generic_failure: str,
    username: str,
) -> None:
    client = app.test_client()
    responses: list[t.Any] = []
    statements = queries_during(
        app, auth, lambda: responses.append(login(client, username, "wrong-password-123"))
    )
    assert responses[0].status_code == 401
    assert generic_failure in responses[0].get_data(as_text=True)
    assert not [s for s in statements if "auth_users" in s]
    with app.app_context(), auth.store.engine.connect() as conn:
        keys = set(conn.scalars(select(failed_logins.c.key)))
    assert keys == {"addr:127.0.0.1"}  # counted against the address only


def test_user_name_of_150_characters_that_fold_to_150_still_logs_in(
    app: Flask, auth: Auth, login: Login
) -> None:
    name = "Ä" * 150
    with app.app_context():
        auth.register_user(name, PASSWORD)
    assert login(app.test_client(), name, PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "username",
    [DOTTED_I * 150, "a" * 151, "", "   ", "an\x00n", "an\nn", "\ud800"],
    ids=["150-dotted-I", "151-a", "empty", "spaces", "nul", "newline", "surrogate"],
)
def test_register_user_refuses_a_name_no_user_can_have(
    app: Flask, auth: Auth, username: str
) -> None:
    with app.app_context(), pytest.raises(ValueError, match="user names have 1 to 150"):
        auth.register_user(username, PASSWORD)
    with app.app_context():
        assert auth.store.count_users() == 0


def test_names_are_stored_nfkc_normalised_and_found_in_any_compatibility_form(
    app: Flask, auth: Auth, login: Login
) -> None:
    with app.app_context():
        user = auth.register_user(" \N{LATIN SMALL LIGATURE FI}ona ", PASSWORD)
    assert user.username == "fiona"
    # Full-width letters are the same name after NFKC.
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "fiona")
    client = app.test_client()
    assert login(client, fullwidth, PASSWORD).status_code == 302
    assert client.get("/private").get_data(as_text=True) == "private page of fiona"
    with app.app_context(), pytest.raises(ValueError, match="already exists"):
        auth.register_user(fullwidth, PASSWORD)


def test_folded_forms_of_a_name_share_the_account_counter(
    make_app: t.Callable[..., Flask], auth: Auth, login: Login
) -> None:
    app = make_app(AUTH_MAX_FAILURES=2)
    with app.app_context():
        auth.register_user("strasse", PASSWORD)
    client = app.test_client()
    for name in ("STRASSE", "stra\N{LATIN SMALL LETTER SHARP S}e"):
        assert login(client, name, "wrong-password-123").status_code == 401
    assert login(client, "strasse", PASSWORD).status_code == 429


def test_cli_refuses_a_name_no_user_can_have(app: Flask, auth: Auth) -> None:
    result = cli(app, "create-user", DOTTED_I * 150, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1
    assert "user names have 1 to 150 characters" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert auth.store.count_users() == 0


def test_cli_finds_users_by_their_normalised_name(app: Flask, auth: Auth) -> None:
    with app.app_context():
        auth.register_user("fiona", PASSWORD)
    result = cli(app, "delete-user", "\N{LATIN SMALL LIGATURE FI}ona", "--yes")
    assert result.exit_code == 0, result.output
    result = cli(app, "delete-user", DOTTED_I * 150, "--yes")
    assert result.exit_code == 1
    assert "no user named" in result.output


BAD_ROLES = ["editor,admin", "editor admin", "admin\n", "", " admin", "ad;min", "a" * 65]


@pytest.mark.parametrize("role", BAD_ROLES)
def test_register_user_refuses_a_role_that_is_not_one_name(
    app: Flask, auth: Auth, role: str
) -> None:
    with app.app_context(), pytest.raises(ValueError, match="is not a role name") as error:
        auth.register_user("carol", PASSWORD, roles=["editor", role])
    assert repr(role) in str(error.value)
    with app.app_context():
        assert auth.store.count_users() == 0
        with pytest.raises(ValueError, match="is not a role name"):
            auth.store.create_user("carol", PASSWORD, [role])
        assert auth.store.count_users() == 0


def test_a_comma_in_a_role_never_grants_a_second_role(app: Flask, auth: Auth, login: Login) -> None:
    with app.app_context(), pytest.raises(ValueError, match="'editor,admin'"):
        auth.register_user("mallory", PASSWORD, roles=["editor,admin"])
    client = app.test_client()
    assert login(client, "mallory", PASSWORD).status_code == 401
    assert client.get("/admin").status_code in (302, 401)


def test_roles_given_as_one_string_are_refused(app: Flask, auth: Auth) -> None:
    with app.app_context(), pytest.raises(ValueError, match="list of role names"):
        auth.register_user("carol", PASSWORD, roles="admin")


def test_role_names_with_every_allowed_character_are_kept(app: Flask, auth: Auth) -> None:
    with app.app_context():
        user = auth.register_user("carol", PASSWORD, roles=["billing:read", "team-1.lead_2"])
    assert user.roles == {"billing:read", "team-1.lead_2"}


@pytest.mark.parametrize("role", ["editor,admin", "editor admin"])
def test_cli_refuses_a_role_that_is_not_one_name(app: Flask, auth: Auth, role: str) -> None:
    result = cli(app, "create-user", "carol", "--role", role, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1
    assert f"role {role!r} is not a role name" in result.output
    with app.app_context():
        assert auth.store.count_users() == 0


@pytest.mark.parametrize("role", ["editor,admin", "admin "])
def test_roles_required_refuses_a_role_that_is_not_one_name(auth: Auth, role: str) -> None:
    with pytest.raises(ValueError, match="is not a role name"):
        auth.roles_required(role)
