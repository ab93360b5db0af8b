from __future__ import annotations

import typing as t

from flask import Flask
from flask.testing import FlaskClient

from flask_plug.auth import User, signals

Login = t.Callable[..., t.Any]
Received = list[tuple[t.Any, dict[str, t.Any]]]


def recorder(received: Received) -> t.Callable[..., None]:
    def receive(sender: t.Any, **kwargs: t.Any) -> None:
        received.append((sender, kwargs))

    return receive


def test_login_sends_logged_in_with_the_user(
    app: Flask, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    received: Received = []
    with signals.logged_in.connected_to(recorder(received), sender=app):
        assert login(app.test_client(), "ann", passwords["ann"]).status_code == 302
    assert received == [(app, {"user": users["ann"]})]


def test_logout_sends_logged_out_with_the_user(
    app: Flask,
    users: dict[str, User],
    logged_in: t.Callable[[str], FlaskClient],
    csrf: t.Callable[[FlaskClient], str],
) -> None:
    client = logged_in("bob")
    received: Received = []
    with signals.logged_out.connected_to(recorder(received), sender=app):
        assert client.post("/auth/logout", data={"csrf_token": csrf(client)}).status_code == 302
    assert received == [(app, {"user": users["bob"]})]


def test_logout_without_login_sends_nothing(
    app: Flask, csrf: t.Callable[[FlaskClient], str]
) -> None:
    client = app.test_client()
    received: Received = []
    with signals.logged_out.connected_to(recorder(received), sender=app):
        assert client.post("/auth/logout", data={"csrf_token": csrf(client)}).status_code == 302
    assert received == []


def test_failed_login_sends_login_failed_with_name_as_typed_and_reason(
    make_app: t.Callable[..., Flask],
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    app = make_app(AUTH_MAX_FAILURES=2)
    client = app.test_client()
    received: Received = []
    sent_in: Received = []
    with (
        signals.login_failed.connected_to(recorder(received), sender=app),
        signals.logged_in.connected_to(recorder(sent_in), sender=app),
    ):
        login(client, "Nobody", "wrong-password-123")
        login(client, "ann", "wrong-password-123")
        login(client, "ann", "wrong-password-123")
        assert login(client, "ann", passwords["ann"]).status_code == 429
    assert received == [
        (app, {"username": "Nobody", "reason": "credentials"}),
        (app, {"username": "ann", "reason": "credentials"}),
        (app, {"username": "ann", "reason": "credentials"}),
        (app, {"username": "ann", "reason": "throttled"}),
    ]
    assert sent_in == []
