from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient


def test_home_page_shows_every_extension_at_work(client: FlaskClient) -> None:
    with client.get("/") as response:
        assert response.status_code == 200
        page = response.get_data(as_text=True)
    for name in ("timer", "cors", "ratelimit", "auth", "stats", "reqlog", "apidocs"):
        assert f"<strong>{name}</strong>" in page
    for link in ("/api/notes", "/cors", "/admin/stats/dashboard", "/docs/", "/docs/redoc"):
        assert f'href="{link}"' in page or f'href="http://localhost:5000{link}"' in page
    assert response.headers["X-Request-ID"] in page


def test_api_is_timed_with_spans(client: FlaskClient) -> None:
    response = client.get("/api/notes")
    assert response.json["notes"][0]["title"] == "Try the timer"
    server_timing = response.headers["Server-Timing"]
    assert server_timing.startswith("app;dur=")
    assert "notes.load;dur=" in server_timing
    assert response.headers["X-Response-Time"].endswith("ms")


def test_api_allows_the_front_end_origin_only(client: FlaskClient) -> None:
    allowed = client.get("/api/notes", headers={"Origin": "http://localhost:5000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:5000"
    assert allowed.headers["Access-Control-Expose-Headers"] == "x-response-time"
    other = client.get("/api/notes", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    assert other.headers["Vary"] == "Origin"


def test_api_preflight_from_the_front_end(client: FlaskClient) -> None:
    response = client.options(
        "/api/notes",
        headers={
            "Origin": "http://localhost:5000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_posting_notes_is_rate_limited(client: FlaskClient, api_token: str) -> None:
    bearer = {"Authorization": f"Bearer {api_token}"}
    codes = [
        client.post("/api/notes", json={"title": f"n{i}"}, headers=bearer).status_code
        for i in range(6)
    ]
    assert codes == [201] * 5 + [429]
    front_end = {**bearer, "Origin": "http://localhost:5000"}
    refused = client.post("/api/notes", json={"title": "again"}, headers=front_end)
    assert refused.status_code == 429
    assert refused.content_type == "application/problem+json"
    assert int(refused.headers["Retry-After"]) >= 1
    # The refusal still carries every other extension's headers: the front end can read
    # it (CORS), and it is timed, counted and logged like any answer.
    assert refused.headers["Access-Control-Allow-Origin"] == "http://localhost:5000"
    assert "x-response-time" in refused.headers["Access-Control-Expose-Headers"].lower()
    assert refused.headers["Server-Timing"].startswith("app;dur=")
    assert len(refused.headers["X-Request-ID"]) == 32


def test_preflight_is_not_rate_limited(client: FlaskClient) -> None:
    for _ in range(8):
        response = client.options(
            "/api/notes",
            headers={"Origin": "http://localhost:5000", "Access-Control-Request-Method": "POST"},
        )
        assert response.status_code == 204
    assert client.post("/api/notes", json={"title": "no login"}).status_code == 401


def test_first_run_creates_users_with_their_passwords_saved(app: Flask) -> None:
    from pathlib import Path

    saved = (Path(app.instance_path) / "first-run-passwords.txt").read_text()
    assert "admin" in saved and "demo" in saved
    assert (Path(app.instance_path) / "secret_key").stat().st_mode & 0o077 == 0


def test_posting_without_login_gets_401_json(client: FlaskClient) -> None:
    response = client.post("/api/notes", json={"title": "x"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_pages_need_login_and_admin_needs_the_role(client: FlaskClient, api_token: str) -> None:
    browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    assert client.get("/notes", headers=browser).status_code == 302  # to the login page
    assert client.get("/notes").status_code == 401  # a program: no redirect to a form
    bearer = {"Authorization": f"Bearer {api_token}"}
    assert client.get("/notes", headers=bearer).status_code == 200
    assert client.get("/admin", headers=bearer).status_code == 403


def test_login_posts_are_rate_limited(client: FlaskClient) -> None:
    codes = [
        client.post("/auth/login", data={"username": "x", "password": "y"}).status_code
        for _ in range(11)
    ]
    assert codes == [400] * 10 + [429]  # no CSRF token: refused, but still counted
    assert client.get("/auth/login").status_code == 200  # the form: 60 a minute, 11 used


def test_stats_are_for_admins_and_count_401s_and_429s(app: Flask, client: FlaskClient) -> None:
    from flask_plug_demo.extensions import auth

    with app.test_request_context():
        [admin] = [u for u in auth.store.list_users() if u.username == "admin"]
        admin_token = auth.create_token(admin, name="tests")
    for _ in range(6):
        client.post("/api/notes", json={"title": "x"})  # 401 five times, then 429
    bearer = {"Authorization": f"Bearer {admin_token}"}
    assert client.get("/admin/stats").status_code == 403
    endpoints = client.get("/admin/stats", headers=bearer).json["endpoints"]
    assert endpoints["demo.add_note"]["statuses"] == {"401": 5, "429": 1}


def test_access_log_shows_the_request_id_and_the_user(
    client: FlaskClient, api_token: str, access_log: t.Any
) -> None:
    with client.get("/", headers={"X-Request-ID": "home-visit-1"}) as response:
        assert response.headers["X-Request-ID"] == "home-visit-1"
        assert "home-visit-1" in response.get_data(as_text=True)
    bearer = {"Authorization": f"Bearer {api_token}"}
    with client.post("/api/notes", json={"title": "t", "body": "b"}, headers=bearer) as response:
        assert response.status_code == 201
        request_id = response.headers["X-Request-ID"]
    home, post = access_log()[-2:]
    assert '"GET / HTTP/1.1" 200' in home
    assert post.startswith("127.0.0.1 - demo [")
    assert '"POST /api/notes HTTP/1.1" 201' in post
    assert len(request_id) == 32


def test_api_docs_document_security_and_rate_limits(client: FlaskClient) -> None:
    from openapi_spec_validator import validate

    with client.get("/docs/openapi.json") as response:
        document = response.get_json()
    validate(document)
    assert set(document["paths"]) == {"/api/notes"}
    post = document["paths"]["/api/notes"]["post"]
    assert post["security"] == [{"session": []}, {"bearer": ["notes:write"]}]
    assert {"201", "400", "401", "403", "415", "422", "429"} <= set(post["responses"])
    assert "insufficient_scope" in post["responses"]["403"]["description"]
    assert "5 per 1 minute" in post["responses"]["429"]["description"]
    assert "RateLimit-Policy" in post["responses"]["429"]["headers"]
    listing = document["paths"]["/api/notes"]["get"]
    assert "300 per 1 minute" in listing["responses"]["429"]["description"]  # the default
    assert "security" not in listing
    with client.get("/docs/") as page:
        assert page.status_code == 200


def test_api_errors_are_json(client: FlaskClient, api_token: str) -> None:
    bearer = {"Authorization": f"Bearer {api_token}"}
    with client.post("/api/notes", data="not json", headers=bearer) as response:
        assert response.status_code == 415
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["detail"].startswith("Expected a JSON body")
    with client.post("/api/notes", json={"title": ""}, headers=bearer) as response:
        assert response.status_code == 422
        [error] = response.get_json()["errors"]
        assert error == {"location": "body", "field": ["title"], "type": "string_too_short",
                         "message": "String should have at least 1 character"}  # fmt: skip
    with client.delete("/api/notes") as response:
        assert response.status_code == 405
        assert response.is_json
        assert "GET" in response.headers["Allow"]
    with client.get("/nowhere") as response:
        assert response.mimetype == "text/html"


def test_note_posting_is_limited_per_user(app: Flask, client: FlaskClient, api_token: str) -> None:
    from flask_plug_demo.extensions import auth

    with app.test_request_context():
        [admin] = [u for u in auth.store.list_users() if u.username == "admin"]
        admin_token = auth.create_token(admin, name="tests", scopes=["notes:write"])
    for token in (api_token, admin_token):  # one address, two users: a limit each
        bearer = {"Authorization": f"Bearer {token}"}
        codes = [
            client.post("/api/notes", json={"title": "t"}, headers=bearer).status_code
            for _ in range(6)
        ]
        assert codes == [201] * 5 + [429]
    refused = client.post("/api/notes", json={"title": "t"}, headers={"Authorization": "Bearer x"})
    assert refused.status_code == 401  # no user: counted by address, which has posted nothing
