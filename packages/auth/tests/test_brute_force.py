from __future__ import annotations

import typing as t
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from flask_plug.auth import Auth, User
from flask_plug.auth.models import failed_logins

Login = t.Callable[..., t.Any]
WRONG = "wrong-password-123"


@pytest.fixture
def limited(make_app: t.Callable[..., Flask], users: dict[str, User]) -> Flask:
    """An app allowing 3 failures per account and 4 per address."""
    return make_app(AUTH_MAX_FAILURES=3, AUTH_MAX_FAILURES_PER_ADDRESS=4)


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_account_is_throttled_after_max_failures_even_with_the_right_password(
    limited: Flask, login: Login, passwords: dict[str, str], generic_failure: str
) -> None:
    client = client_at(limited, "10.0.0.1")
    for _ in range(3):
        assert login(client, "ann", WRONG).status_code == 401

    response = login(client, "ann", passwords["ann"])
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert generic_failure in response.get_data(as_text=True)
    assert client.get("/private").status_code == 401  # not logged in


def test_throttled_account_stays_throttled_from_another_address(
    limited: Flask, login: Login, passwords: dict[str, str]
) -> None:
    attacker = client_at(limited, "10.0.0.1")
    for _ in range(3):
        login(attacker, "ann", WRONG)
    assert login(client_at(limited, "10.0.0.2"), "ann", passwords["ann"]).status_code == 429


def test_user_name_case_does_not_dodge_the_account_limit(
    limited: Flask, login: Login, passwords: dict[str, str]
) -> None:
    client = client_at(limited, "10.0.0.1")
    for name in ("ann", "ANN", "Ann"):
        login(client, name, WRONG)
    assert login(client, "ann", passwords["ann"]).status_code == 429


def test_another_account_from_another_address_is_unaffected(
    limited: Flask, login: Login, passwords: dict[str, str]
) -> None:
    attacker = client_at(limited, "10.0.0.1")
    for _ in range(3):
        login(attacker, "ann", WRONG)
    response = login(client_at(limited, "10.0.0.2"), "bob", passwords["bob"])
    assert response.status_code == 302


def test_address_is_throttled_after_max_failures_across_user_names(
    limited: Flask, login: Login, passwords: dict[str, str], generic_failure: str
) -> None:
    sprayer = client_at(limited, "10.0.0.9")
    for name in ("carol", "dave", "erin", "frank"):
        assert login(sprayer, name, WRONG).status_code == 401

    response = login(sprayer, "bob", passwords["bob"])
    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert generic_failure in response.get_data(as_text=True)
    assert login(client_at(limited, "10.0.0.10"), "bob", passwords["bob"]).status_code == 302


def test_success_resets_the_account_counter(
    limited: Flask, login: Login, passwords: dict[str, str]
) -> None:
    client = client_at(limited, "10.0.0.1")
    for _ in range(2):
        login(client, "ann", WRONG)
    assert login(client, "ann", passwords["ann"]).status_code == 302
    fresh = client_at(limited, "10.0.0.2")  # the first address keeps its count
    for _ in range(2):
        assert login(fresh, "ann", WRONG).status_code == 401
    assert login(fresh, "ann", passwords["ann"]).status_code == 302


def test_own_successful_login_does_not_reset_the_address_counter(
    limited: Flask, login: Login, passwords: dict[str, str]
) -> None:
    sprayer = client_at(limited, "10.0.0.9")
    for name in ("carol", "dave", "erin"):
        login(sprayer, name, WRONG)
    assert login(client_at(limited, "10.0.0.9"), "bob", passwords["bob"]).status_code == 302
    login(sprayer, "frank", WRONG)  # the 4th failure from this address
    assert login(sprayer, "gina", WRONG).status_code == 429


def test_counters_live_in_the_database(
    make_app: t.Callable[..., Flask],
    limited: Flask,
    login: Login,
    passwords: dict[str, str],
) -> None:
    for _ in range(3):
        login(client_at(limited, "10.0.0.1"), "ann", WRONG)

    other_instance = make_app(AUTH_MAX_FAILURES=3, AUTH_MAX_FAILURES_PER_ADDRESS=4)
    response = login(client_at(other_instance, "10.0.0.2"), "ann", passwords["ann"])
    assert response.status_code == 429


def test_failures_older_than_the_window_do_not_count(
    limited: Flask, auth: Auth, login: Login, passwords: dict[str, str]
) -> None:
    client = client_at(limited, "10.0.0.1")
    for _ in range(3):
        login(client, "ann", WRONG)
    assert login(client, "ann", passwords["ann"]).status_code == 429

    sixteen_minutes_ago = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(minutes=16)
    with limited.app_context(), auth.store.engine.begin() as conn:
        conn.execute(update(failed_logins).values(window_start=sixteen_minutes_ago))
    assert login(client, "ann", passwords["ann"]).status_code == 302
