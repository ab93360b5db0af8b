from __future__ import annotations

import statistics
import time
import typing as t

import argon2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from flask_plug.auth import Auth, User
from flask_plug.auth.models import users as users_table

Csrf = t.Callable[[FlaskClient], str]
CURRENT_PARAMS = "$argon2id$v=19$m=19456,t=2,p=1$"


def stored_hash(app: Flask, auth: Auth, username: str) -> str:
    with app.app_context(), auth.store.engine.connect() as conn:
        query = select(users_table.c.password_hash).where(users_table.c.username == username)
        return str(conn.scalar(query))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_unknown_user_and_wrong_password_take_the_same_time(
    make_app: t.Callable[..., Flask], users: dict[str, User], csrf: Csrf
) -> None:
    app = make_app(AUTH_MAX_FAILURES=10_000, AUTH_MAX_FAILURES_PER_ADDRESS=10_000)
    client = app.test_client()
    token = csrf(client)

    def attempt(username: str) -> float:
        data = {"csrf_token": token, "username": username, "password": "wrong-password-123"}
        started = time.perf_counter()
        response = client.post("/auth/login", data=data)
        elapsed = time.perf_counter() - started
        assert response.status_code == 401
        return elapsed

    attempt("nobody"), attempt("ann")  # warm up
    unknown, wrong = [], []
    for i in range(15):
        unknown.append(attempt(f"nobody{i}"))
        wrong.append(attempt("ann"))
    fast, slow = sorted([statistics.median(unknown), statistics.median(wrong)])
    assert slow / fast < 1.2, f"medians: unknown user {unknown}, wrong password {wrong}"


def test_hash_with_weaker_parameters_is_upgraded_at_login(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    login: t.Callable[..., t.Any],
    passwords: dict[str, str],
) -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash(passwords["bob"])
    with app.app_context(), auth.store.engine.begin() as conn:
        conn.execute(
            update(users_table).where(users_table.c.username == "bob").values(password_hash=weak)
        )
    assert stored_hash(app, auth, "bob").startswith("$argon2id$v=19$m=8192,t=1,")

    assert login(app.test_client(), "bob", passwords["bob"]).status_code == 302

    upgraded = stored_hash(app, auth, "bob")
    assert upgraded.startswith(CURRENT_PARAMS)
    assert argon2.PasswordHasher().verify(upgraded, passwords["bob"])
    assert login(app.test_client(), "bob", passwords["bob"]).status_code == 302


def test_hash_with_weaker_parameters_is_kept_after_a_failed_login(
    app: Flask, auth: Auth, users: dict[str, User], login: t.Callable[..., t.Any]
) -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192).hash("bob-old-password")
    with app.app_context(), auth.store.engine.begin() as conn:
        conn.execute(
            update(users_table).where(users_table.c.username == "bob").values(password_hash=weak)
        )
    assert login(app.test_client(), "bob", "wrong-password-123").status_code == 401
    assert stored_hash(app, auth, "bob") == weak


def test_new_users_get_argon2id_with_current_parameters(
    app: Flask, auth: Auth, users: dict[str, User], passwords: dict[str, str]
) -> None:
    stored = stored_hash(app, auth, "ann")
    assert stored.startswith(CURRENT_PARAMS)
    assert passwords["ann"] not in stored


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("carol", "short", "at least 8 characters"),
        ("carol", "x" * 1025, "at most 1024 bytes"),
        ("  ", "long-enough-pw", "1 to 150 characters"),
        ("c" * 151, "long-enough-pw", "1 to 150 characters"),
        ("ann", "long-enough-pw", "already exists"),
    ],
    ids=["short-password", "long-password", "blank-name", "long-name", "taken-name"],
)
def test_register_user_refuses_bad_input(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    username: str,
    password: str,
    message: str,
) -> None:
    with app.app_context(), pytest.raises(ValueError, match=message):
        auth.register_user(username, password)
