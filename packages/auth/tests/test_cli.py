from __future__ import annotations

import typing as t

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect

from flask_plug.auth import Auth, User

Login = t.Callable[..., t.Any]
NEW_PASSWORD = "carol-new-secret-pw"


def cli(app: Flask, *args: str, input: str | None = None) -> t.Any:
    return app.test_cli_runner().invoke(args=["auth", *args], input=input)


def test_init_db_creates_the_tables(
    make_app: t.Callable[..., Flask], auth: Auth, db: t.Any
) -> None:
    app = make_app(tables=False)
    result = cli(app, "init-db")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("tables ready in ")
    with app.app_context():
        names = set(inspect(auth.store.engine).get_table_names())
    assert {"auth_users", "auth_login_sessions", "auth_api_tokens"} <= names
    assert cli(app, "init-db").exit_code == 0  # existing tables are left alone


def test_create_user_with_roles_can_log_in(
    app: Flask, users: dict[str, User], login: Login, json_headers: dict[str, str]
) -> None:
    result = cli(
        app,
        "create-user",
        "carol",
        "--role",
        "editor",
        "--role",
        "admin",
        input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "created carol (admin, editor)" in result.output
    assert NEW_PASSWORD not in result.output

    client = app.test_client()
    assert login(client, "carol", NEW_PASSWORD).status_code == 302
    assert client.get("/api/me", headers=json_headers).get_json()["roles"] == ["admin", "editor"]
    assert client.get("/admin").status_code == 200


def test_create_user_without_roles(app: Flask) -> None:
    result = cli(app, "create-user", "dave", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "created dave (no roles)" in result.output


def test_create_user_twice_is_an_error(app: Flask, users: dict[str, User]) -> None:
    result = cli(app, "create-user", "ann", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 1
    assert "a user named 'ann' already exists" in result.output


def test_create_user_with_short_password_is_an_error(app: Flask) -> None:
    result = cli(app, "create-user", "erin", input="short\nshort\n")
    assert result.exit_code == 1
    assert "at least 8 characters" in result.output
    assert "erin" not in cli(app, "list-users").output


def test_create_user_asks_again_when_the_passwords_differ(app: Flask) -> None:
    result = cli(
        app,
        "create-user",
        "erin",
        input=f"{NEW_PASSWORD}\nsomething-else\n{NEW_PASSWORD}\n{NEW_PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "created erin" in result.output


def test_set_password_ends_the_users_sessions(
    app: Flask,
    logged_in: t.Callable[[str], FlaskClient],
    login: Login,
    passwords: dict[str, str],
    json_headers: dict[str, str],
) -> None:
    ann, bob = logged_in("ann"), logged_in("bob")
    result = cli(app, "set-password", "ann", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "password of ann changed" in result.output

    assert ann.get("/api/me", headers=json_headers).status_code == 401
    assert bob.get("/api/me", headers=json_headers).status_code == 200
    assert login(app.test_client(), "ann", passwords["ann"]).status_code == 401
    assert login(app.test_client(), "ann", NEW_PASSWORD).status_code == 302


def test_set_password_of_unknown_user_is_an_error(app: Flask) -> None:
    result = cli(app, "set-password", "nobody", input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n")
    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output


def test_list_users_shows_names_and_roles(app: Flask, users: dict[str, User]) -> None:
    result = cli(app, "list-users")
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines()]
    assert lines == [
        [str(users["ann"].id), "ann", "admin"],
        [str(users["bob"].id), "bob"],
    ]


def test_delete_user_ends_sessions_and_refuses_login(
    app: Flask,
    logged_in: t.Callable[[str], FlaskClient],
    login: Login,
    passwords: dict[str, str],
    json_headers: dict[str, str],
) -> None:
    bob = logged_in("bob")
    result = cli(app, "delete-user", "bob", "--yes")
    assert result.exit_code == 0, result.output
    assert "deleted bob" in result.output
    assert bob.get("/api/me", headers=json_headers).status_code == 401
    assert login(app.test_client(), "bob", passwords["bob"]).status_code == 401
    assert "bob" not in cli(app, "list-users").output


def test_delete_user_asks_for_confirmation(app: Flask, users: dict[str, User]) -> None:
    result = cli(app, "delete-user", "bob", input="n\n")
    assert result.exit_code == 1
    assert "bob" in cli(app, "list-users").output


def test_delete_unknown_user_is_an_error(app: Flask, users: dict[str, User]) -> None:
    result = cli(app, "delete-user", "nobody", "--yes")
    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output


def test_create_token_for_unknown_user_is_an_error(app: Flask) -> None:
    result = cli(app, "create-token", "nobody")
    assert result.exit_code == 1
    assert "no user named 'nobody'" in result.output


def test_revoke_unknown_or_revoked_token_is_an_error(app: Flask, users: dict[str, User]) -> None:
    assert cli(app, "revoke-token", "999").exit_code == 1
    token_id = cli(app, "create-token", "ann").output.split()[1]
    assert cli(app, "revoke-token", token_id).exit_code == 0
    result = cli(app, "revoke-token", token_id)
    assert result.exit_code == 1
    assert f"no active token with id {token_id}" in result.output
