"""What the demo rate limits on its login pages, and that HEAD is counted with GET."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient


def test_login_form_has_a_generous_limit_that_head_cannot_walk_around(client: FlaskClient) -> None:
    codes = [client.open("/auth/login", method=m).status_code for m in ["GET", "HEAD"] * 30]
    assert codes == [200] * 60
    assert client.get("/auth/login").status_code == 429
    refused = client.head("/auth/login")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert '"auth.login/60-60";q=60;w=60' in refused.headers["RateLimit-Policy"]


def test_login_posts_have_a_strict_limit_of_their_own(client: FlaskClient) -> None:
    posts = [client.post("/auth/login", data={}).status_code for _ in range(11)]
    assert posts == [400] * 10 + [429]  # no CSRF token: refused, but counted
    assert client.get("/auth/login").status_code == 200  # 11 of the form's 60 used


def test_cli_show_lists_the_login_limits(app: Flask) -> None:
    output = app.test_cli_runner().invoke(args=["ratelimit", "show"]).output
    lines = [line.split(None, 2) for line in output.splitlines() if "/auth/login " in line + " "]
    shown = {method: limits for method, _, limits in lines if method != "OPTIONS"}
    assert shown["GET"] == shown["HEAD"] == "60 per 1 minute [auth.login]"
    assert shown["POST"] == (
        "60 per 1 minute [auth.login_submit]; 10 per 1 minute [auth.login_submit]"
    )
