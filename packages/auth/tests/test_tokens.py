from __future__ import annotations

import base64
import hashlib
import typing as t

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select

from flask_plug.auth import Auth, User
from flask_plug.auth.models import api_tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def basic(username: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


@pytest.fixture
def ann_token(app: Flask, auth: Auth, users: dict[str, User]) -> str:
    with app.app_context():
        return auth.create_token(users["ann"])


def test_bearer_token_from_create_token_reaches_the_api(
    client: FlaskClient, ann_token: str
) -> None:
    response = client.get("/api/me", headers=bearer(ann_token))
    assert response.status_code == 200
    assert response.get_json()["username"] == "ann"
    assert response.get_json()["roles"] == ["admin"]
    assert client.get("/admin", headers=bearer(ann_token)).status_code == 200


def test_bearer_token_does_not_start_a_session(client: FlaskClient, ann_token: str) -> None:
    assert client.get("/api/me", headers=bearer(ann_token)).status_code == 200
    assert client.get("/api/me", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize("mangle", ["prefix", "suffix", "truncated"])
def test_only_the_exact_token_is_accepted(client: FlaskClient, ann_token: str, mangle: str) -> None:
    token = {"prefix": "x" + ann_token, "suffix": ann_token + "x", "truncated": ann_token[:-1]}
    assert client.get("/api/me", headers=bearer(token[mangle])).status_code == 401


def test_bearer_scheme_is_case_insensitive(client: FlaskClient, ann_token: str) -> None:
    response = client.get("/api/me", headers={"Authorization": f"bearer {ann_token}"})
    assert response.status_code == 200


def test_token_is_not_stored_in_plain_text(app: Flask, auth: Auth, ann_token: str) -> None:
    with app.app_context(), auth.store.engine.connect() as conn:
        rows = conn.execute(select(api_tokens)).all()
    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert ann_token not in stored
    assert ann_token.removeprefix("fpa_") not in stored
    assert rows[0].token_hash == hashlib.sha256(ann_token.encode()).hexdigest()


def test_cli_token_reaches_the_api_until_revoked(
    app: Flask, users: dict[str, User], json_headers: dict[str, str]
) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(args=["auth", "create-token", "bob", "--name", "deploy"])
    assert created.exit_code == 0, created.output
    header, token = created.output.strip().splitlines()
    token_id = header.split()[1]
    assert header.startswith(f"token {token_id} for bob")

    client = app.test_client()
    assert client.get("/api/me", headers=bearer(token)).get_json()["username"] == "bob"

    revoked = runner.invoke(args=["auth", "revoke-token", token_id])
    assert revoked.exit_code == 0, revoked.output
    assert f"revoked token {token_id}" in revoked.output
    response = client.get("/api/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="app"'


def test_revoking_one_token_keeps_the_others(
    app: Flask, auth: Auth, users: dict[str, User]
) -> None:
    with app.app_context():
        first = auth.create_token(users["ann"], name="first")
        second = auth.create_token(users["ann"], name="second")
        listed, _ = auth.store.tokens(users["ann"].id)
    result = app.test_cli_runner().invoke(args=["auth", "revoke-token", str(listed.id)])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    assert client.get("/api/me", headers=bearer(first)).status_code == 401
    assert client.get("/api/me", headers=bearer(second)).status_code == 200


def test_tokens_of_a_deleted_user_stop_working(
    app: Flask, ann_token: str, users: dict[str, User]
) -> None:
    result = app.test_cli_runner().invoke(args=["auth", "delete-user", "ann", "--yes"])
    assert result.exit_code == 0, result.output
    assert app.test_client().get("/api/me", headers=bearer(ann_token)).status_code == 401


def test_http_basic_works_when_enabled(
    make_app: t.Callable[..., Flask], users: dict[str, User], passwords: dict[str, str]
) -> None:
    client = make_app(AUTH_API_BASIC=True).test_client()
    response = client.get("/api/me", headers=basic("ann", passwords["ann"]))
    assert response.status_code == 200
    assert response.get_json()["username"] == "ann"


def test_http_basic_with_wrong_password_gets_401_with_both_challenges(
    make_app: t.Callable[..., Flask], users: dict[str, User]
) -> None:
    client = make_app(AUTH_API_BASIC=True).test_client()
    response = client.get("/api/me", headers=basic("ann", "wrong-password-123"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == (
        'Bearer realm="app", Basic realm="app", charset="UTF-8"'
    )


@pytest.mark.parametrize(
    "value", ["Basic !!!not-base64", "Basic " + base64.b64encode(b"\xff\xfe").decode()]
)
def test_http_basic_with_garbage_gets_401(
    make_app: t.Callable[..., Flask], users: dict[str, User], value: str
) -> None:
    client = make_app(AUTH_API_BASIC=True).test_client()
    assert client.get("/api/me", headers={"Authorization": value}).status_code == 401


def test_http_basic_is_refused_by_default(
    client: FlaskClient, users: dict[str, User], passwords: dict[str, str]
) -> None:
    response = client.get("/api/me", headers=basic("ann", passwords["ann"]))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="app"'


def test_http_basic_guesses_count_towards_the_login_limit(
    make_app: t.Callable[..., Flask],
    users: dict[str, User],
    login: t.Callable[..., t.Any],
    passwords: dict[str, str],
) -> None:
    client = make_app(AUTH_API_BASIC=True, AUTH_MAX_FAILURES=3).test_client()
    for _ in range(3):
        assert client.get("/api/me", headers=basic("ann", "wrong-password-123")).status_code == 401
    assert login(client, "ann", passwords["ann"]).status_code == 429


def test_the_user_is_named_in_remote_user_for_access_logs(
    app: Flask, client: FlaskClient, ann_token: str
) -> None:
    seen: list[str | None] = []

    @app.after_request
    def remember_remote_user(response: t.Any) -> t.Any:
        seen.append(request.environ.get("REMOTE_USER"))
        return response

    assert client.get("/api/me", headers=bearer(ann_token)).status_code == 200
    assert client.get("/api/me", headers={"Accept": "application/json"}).status_code == 401
    assert seen == ["ann", None]
