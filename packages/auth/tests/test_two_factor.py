"""The second factor: setting it up, the code step of a login, recovery codes, the limits
on guessing, roles that require it, remembered browsers, and what it leaves alone."""

from __future__ import annotations

import base64
import re
import secrets
import sys
import time
import typing as t
from pathlib import Path
from uuid import uuid4

import pyotp
import pytest
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from flask_plug.auth import Auth, User, UserModelMixin, login_failed
from flask_plug.auth.otp import TwoFactorStore
from flask_plug.auth.second_factor import DEVICE_COOKIE, PENDING_KEY

Login = t.Callable[..., t.Any]
Csrf = t.Callable[[FlaskClient], str]

SECRET = re.compile(r'id="secret">([A-Z2-7]+)<')
RECOVERY = re.compile(r"<li>([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})</li>")
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def app(make_app: t.Callable[..., Flask]) -> Flask:
    """The app with the second factor on (replaces conftest's ``app``)."""
    return make_app(AUTH_TWO_FACTOR=True)


def code_at(secret: str, offset: int = 0) -> str:
    """The code of the step ``offset`` steps from now."""
    return pyotp.TOTP(secret).at(time.time() + 30 * offset)


def enrol(app: Flask, auth: Auth, user: User) -> str:
    """Turn the second factor on for ``user`` as the setup page does; its secret.

    The confirming code is the current step's: logins in tests use the next step's.
    """
    with app.app_context():
        factors = TwoFactorStore(auth.store)
        secret = factors.pending_secret(user.id)
        assert factors.confirm(user.id, code_at(secret), time.time()) is not None
    return secret


def form_csrf(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match is not None
    return match.group(1)


def send_code(client: FlaskClient, code: str, **fields: str) -> t.Any:
    page = client.get("/auth/two-factor").get_data(as_text=True)
    data = {"csrf_token": form_csrf(page), "code": code, **fields}
    return client.post("/auth/two-factor", data=data)


# setting it up ---------------------------------------------------------------------------


def test_setup_shows_a_local_qr_code_and_turns_on_with_a_first_code_and_the_password(
    logged_in: t.Callable[[str], FlaskClient], passwords: dict[str, str]
) -> None:
    client = logged_in("bob")
    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    secret_match = SECRET.search(page)
    assert secret_match is not None
    secret = secret_match.group(1)
    assert "<svg" in page
    assert "<img" not in page and "http://" not in page.split("<svg", 1)[1].split("</svg>")[0]
    # Reloading keeps the secret: a scanned QR code stays good until confirmed.
    assert secret in client.get("/auth/two-factor/setup").get_data(as_text=True)

    data = {"csrf_token": form_csrf(page), "code": code_at(secret), "password": "wrong-pass-1"}
    assert client.post("/auth/two-factor/setup", data=data).status_code == 400
    data.update(password=passwords["bob"], code="000000" if code_at(secret) != "000000" else "1")
    assert client.post("/auth/two-factor/setup", data=data).status_code == 400

    data["code"] = code_at(secret)
    response = client.post("/auth/two-factor/setup", data=data)
    assert response.status_code == 200
    codes = RECOVERY.findall(response.get_data(as_text=True))
    assert len(codes) == len(set(codes)) == 10

    after = client.get("/auth/two-factor/setup").get_data(as_text=True)
    assert "Recovery codes left: 10" in after
    assert secret not in after and not RECOVERY.search(after)


def test_recovery_codes_are_stored_hashed(
    app: Flask, auth: Auth, users: dict[str, User], logged_in: t.Callable[[str], FlaskClient]
) -> None:
    with app.app_context():
        factors = TwoFactorStore(auth.store)
        secret = factors.pending_secret(users["bob"].id)
        codes = factors.confirm(users["bob"].id, code_at(secret), time.time())
        assert codes is not None
        with auth.store.engine.connect() as conn:
            stored = conn.execute(select(auth.store.tables.recovery_codes.c.code_hash)).scalars()
            stored_hashes = set(stored)
    assert len(stored_hashes) == 10
    assert not stored_hashes & set(codes)
    assert all(len(h) == 64 for h in stored_hashes)


def test_setup_needs_a_login(client: FlaskClient, html_headers: dict[str, str]) -> None:
    response = client.get("/auth/two-factor/setup", headers=html_headers)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=")


def test_every_form_needs_its_csrf_token(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    logged_in: t.Callable[[str], FlaskClient],
    login: Login,
    passwords: dict[str, str],
) -> None:
    bob = logged_in("bob")
    assert bob.post("/auth/two-factor/setup", data={"code": "1"}).status_code == 400
    assert bob.post("/auth/two-factor/disable", data={"code": "1"}).status_code == 400
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    login(client, "ann", passwords["ann"])
    response = client.post("/auth/two-factor", data={"code": code_at(secret, 1)})
    assert response.status_code == 400
    assert client.get("/api/me").status_code == 401


def test_the_views_are_not_there_when_the_feature_is_off(
    make_app: t.Callable[..., Flask], users: dict[str, User]
) -> None:
    client = make_app().test_client()
    for path in ("/auth/two-factor", "/auth/two-factor/setup"):
        assert client.get(path).status_code == 404


# the code step of a login ----------------------------------------------------------------


def test_a_password_alone_does_not_log_in_a_user_with_the_second_factor(
    app: Flask, auth: Auth, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    response = login(client, "ann", passwords["ann"], next="/admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/two-factor"
    for path in ("/private", "/admin", "/api/me"):
        assert client.get(path).status_code == 401  # g.user is None while pending
    with client.session_transaction() as session:
        marker = session[PENDING_KEY]
        assert set(marker) == {"user_id", "remember", "next", "enrol", "expires"}
        assert marker["expires"] - time.time() <= 5 * 60

    response = send_code(client, code_at(secret, 1))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin"
    assert client.get("/api/me").json["username"] == "ann"
    with client.session_transaction() as session:
        assert PENDING_KEY not in session


def test_a_json_login_asks_for_the_code_and_takes_it_as_json(
    app: Flask, auth: Auth, users: dict[str, User], passwords: dict[str, str]
) -> None:
    """A script's login is held for the second factor as the form's is: no user until the
    code, which it sends as JSON with the new session's token."""
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    token = client.get("/auth/csrf").json["csrf_token"]
    response = client.post(
        "/auth/login",
        json={"username": "ann", "password": passwords["ann"]},
        headers={"X-CSRF-Token": token},
    )
    assert response.status_code == 401
    assert response.json["two_factor"] == "/auth/two-factor"
    assert client.get("/api/me").status_code == 401  # pending: no user yet
    token = response.json["csrf_token"]
    wrong = client.post(
        "/auth/two-factor", json={"code": "000000"}, headers={"X-CSRF-Token": token}
    )
    assert wrong.status_code == 401 and wrong.json["error"]
    unsigned = client.post("/auth/two-factor", json={"code": code_at(secret, 1)})
    assert unsigned.status_code == 400  # no token: refused before the code is looked at
    right = client.post(
        "/auth/two-factor", json={"code": code_at(secret, 1)}, headers={"X-CSRF-Token": token}
    )
    assert right.status_code == 200
    assert right.json["user"]["username"] == "ann"
    assert client.get("/api/me").json["username"] == "ann"
    for body in ({"code": 123456}, [], {"code": None}):
        assert client.post(
            "/auth/two-factor", json=body, headers={"X-CSRF-Token": right.json["csrf_token"]}
        ).status_code in (400, 401)


def test_users_without_the_second_factor_log_in_with_their_password(
    logged_in: t.Callable[[str], FlaskClient],
) -> None:
    assert logged_in("bob").get("/api/me").json["username"] == "bob"


def test_a_code_is_accepted_once(
    app: Flask, auth: Auth, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    secret = enrol(app, auth, users["ann"])
    code = code_at(secret, 1)
    first = app.test_client()
    login(first, "ann", passwords["ann"])
    assert send_code(first, code).status_code == 302

    second = app.test_client()
    login(second, "ann", passwords["ann"])
    assert send_code(second, code).status_code == 401
    # An older step's code than the last accepted one is no good either.
    assert send_code(second, code_at(secret)).status_code == 401
    assert second.get("/api/me").status_code == 401


def test_a_recovery_code_logs_in_once(
    app: Flask, auth: Auth, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    with app.app_context():
        factors = TwoFactorStore(auth.store)
        secret = factors.pending_secret(users["ann"].id)
        codes = factors.confirm(users["ann"].id, code_at(secret), time.time())
    assert codes is not None
    client = app.test_client()
    login(client, "ann", passwords["ann"])
    # Typed loosely: lower case, without dashes.
    assert send_code(client, codes[3].lower().replace("-", " ")).status_code == 302
    assert client.get("/api/me").status_code == 200

    again = app.test_client()
    login(again, "ann", passwords["ann"])
    assert send_code(again, codes[3]).status_code == 401
    assert send_code(again, codes[4]).status_code == 302
    with app.app_context():
        assert TwoFactorStore(auth.store).recovery_codes_left(users["ann"].id) == 8


def test_the_code_step_expires(
    app: Flask, auth: Auth, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    login(client, "ann", passwords["ann"])
    page = client.get("/auth/two-factor").get_data(as_text=True)
    with client.session_transaction() as session:
        session[PENDING_KEY] = {**session[PENDING_KEY], "expires": time.time() - 1}
    response = client.post(
        "/auth/two-factor", data={"csrf_token": form_csrf(page), "code": code_at(secret, 1)}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    assert client.get("/api/me").status_code == 401


def test_the_code_step_needs_a_pending_login(client: FlaskClient, users: dict[str, User]) -> None:
    response = client.get("/auth/two-factor")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"


@pytest.mark.parametrize(
    "code", ["", " ", "12345", "1234567", "١٢٣٤٥٦", "x" * 5000, "\x00" * 6, "AAAA-AAAA-AAAA"]
)
def test_adversarial_codes_are_wrong_codes(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
    code: str,
) -> None:
    enrol(app, auth, users["ann"])
    client = app.test_client()
    login(client, "ann", passwords["ann"])
    assert send_code(client, code).status_code == 401


def test_wrong_codes_are_limited_per_user(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    app = make_app(AUTH_TWO_FACTOR=True, AUTH_MAX_FAILURES=3)
    secret = enrol(app, auth, users["ann"])
    wrong = "000000" if code_at(secret, 1) != "000000" else "111111"
    client = app.test_client()
    login(client, "ann", passwords["ann"])
    for _ in range(3):
        assert send_code(client, wrong).status_code == 401
    response = send_code(client, code_at(secret, 1))
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert client.get("/api/me").status_code == 401

    # A new login (new address too) does not reset the count of the account's codes.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    assert login(other, "ann", passwords["ann"]).status_code == 302
    assert send_code(other, code_at(secret, 1)).status_code == 429


def test_wrong_codes_are_limited_per_address(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    app = make_app(AUTH_TWO_FACTOR=True, AUTH_MAX_FAILURES_PER_ADDRESS=3)
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    login(client, "ann", passwords["ann"])  # a success: the address's count goes back
    for _ in range(3):
        send_code(client, "abcdef")
    assert send_code(client, code_at(secret, 1)).status_code == 429


# roles that require it -------------------------------------------------------------------


def test_a_role_can_require_the_second_factor(
    make_app: t.Callable[..., Flask],
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
    csrf: Csrf,
) -> None:
    app = make_app(AUTH_TWO_FACTOR=True, AUTH_TWO_FACTOR_REQUIRED_FOR=["admin"])
    bob = app.test_client()
    login(bob, "bob", passwords["bob"])
    assert bob.get("/api/me").status_code == 200  # not an admin: not required

    client = app.test_client()
    response = login(client, "ann", passwords["ann"], next="/admin")
    assert response.headers["Location"] == "/auth/two-factor/setup"
    assert client.get("/admin").status_code == 401
    assert client.get("/auth/two-factor").status_code == 302  # not the code step
    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    assert "requires two-factor" in page
    match = SECRET.search(page)
    assert match is not None
    data = {"csrf_token": form_csrf(page), "code": code_at(match.group(1)), "password": "nope"}
    assert client.post("/auth/two-factor/setup", data=data).status_code == 400
    assert client.get("/admin").status_code == 401

    data["password"] = passwords["ann"]
    response = client.post("/auth/two-factor/setup", data=data)
    assert response.status_code == 200
    assert 'href="/admin"' in response.get_data(as_text=True)
    assert client.get("/admin").status_code == 200

    # The role's users cannot turn it off.
    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    assert "cannot be turned off" in page
    assert "/auth/two-factor/disable" not in page
    data = {"csrf_token": csrf(client), "password": passwords["ann"], "code": "x"}
    assert client.post("/auth/two-factor/disable", data=data).status_code == 403


# turning it off --------------------------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    logged_in: t.Callable[[str], FlaskClient],
    login: Login,
    passwords: dict[str, str],
) -> None:
    client = logged_in("ann")
    secret = enrol(app, auth, users["ann"])
    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    data = {"csrf_token": form_csrf(page), "password": passwords["ann"], "code": "123"}
    assert client.post("/auth/two-factor/disable", data=data).status_code == 400
    data.update(password="wrong-password-1", code=code_at(secret, 1))
    assert client.post("/auth/two-factor/disable", data=data).status_code == 400
    data["password"] = passwords["ann"]
    response = client.post("/auth/two-factor/disable", data=data)
    assert response.status_code == 302
    with app.app_context():
        assert TwoFactorStore(auth.store).enrolled_secret(users["ann"].id) is None

    again = app.test_client()
    assert login(again, "ann", passwords["ann"]).headers["Location"] == "/"


# remembered browsers ---------------------------------------------------------------------


def device_cookie(response: t.Any) -> str | None:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{DEVICE_COOKIE}="):
            return str(header)
    return None


def test_a_browser_can_be_remembered_until_the_secret_changes(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
    csrf: Csrf,
) -> None:
    app = make_app(AUTH_TWO_FACTOR=True, AUTH_TWO_FACTOR_REMEMBER_DAYS=30)
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    login(client, "ann", passwords["ann"])
    assert "30 days" in client.get("/auth/two-factor").get_data(as_text=True)
    response = send_code(client, code_at(secret, 1), remember_device="on")
    header = device_cookie(response)
    assert header is not None
    assert "HttpOnly" in header and "Max-Age=2592000" in header
    client.post("/auth/logout", data={"csrf_token": csrf(client)})

    # The same browser: the password is enough.
    assert login(client, "ann", passwords["ann"]).headers["Location"] == "/"
    assert client.get("/api/me").json["username"] == "ann"
    # Another browser, or another user in this one: the code is asked for.
    assert (
        login(app.test_client(), "ann", passwords["ann"])
        .headers["Location"]
        .endswith("/two-factor")
    )
    cookie = client.get_cookie(DEVICE_COOKIE)
    assert cookie is not None
    with app.app_context():
        bob_secret = enrol(app, auth, users["bob"])
    bob = app.test_client()
    bob.set_cookie(DEVICE_COOKIE, cookie.value)
    assert login(bob, "bob", passwords["bob"]).headers["Location"].endswith("/two-factor")
    assert bob_secret

    # A new secret voids the cookie.
    with app.app_context():
        TwoFactorStore(auth.store).disable(users["ann"].id)
    enrol(app, auth, users["ann"])
    client.post("/auth/logout", data={"csrf_token": csrf(client)})
    assert login(client, "ann", passwords["ann"]).headers["Location"].endswith("/two-factor")


def test_browsers_are_not_remembered_by_default(
    app: Flask, auth: Auth, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    login(client, "ann", passwords["ann"])
    assert "this device" not in client.get("/auth/two-factor").get_data(as_text=True)
    assert device_cookie(send_code(client, code_at(secret, 1), remember_device="on")) is None


# what it leaves alone --------------------------------------------------------------------


def basic(username: str, password: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def test_basic_auth_is_refused_to_users_with_the_second_factor(
    make_app: t.Callable[..., Flask], auth: Auth, users: dict[str, User], passwords: dict[str, str]
) -> None:
    app = make_app(AUTH_TWO_FACTOR=True, AUTH_API_BASIC=True)
    client = app.test_client()
    assert client.get("/api/me", headers=basic("ann", passwords["ann"])).status_code == 200
    enrol(app, auth, users["ann"])
    assert client.get("/api/me", headers=basic("ann", passwords["ann"])).status_code == 401
    assert client.get("/api/me", headers=basic("bob", passwords["bob"])).status_code == 200


def test_basic_auth_is_refused_to_roles_that_require_it(
    make_app: t.Callable[..., Flask], users: dict[str, User], passwords: dict[str, str]
) -> None:
    app = make_app(
        AUTH_TWO_FACTOR=True, AUTH_API_BASIC=True, AUTH_TWO_FACTOR_REQUIRED_FOR=["admin"]
    )
    client = app.test_client()
    assert client.get("/api/me", headers=basic("ann", passwords["ann"])).status_code == 401


def test_api_tokens_still_work(app: Flask, auth: Auth, users: dict[str, User]) -> None:
    enrol(app, auth, users["ann"])
    with app.app_context():
        token = auth.create_token(users["ann"])
    response = app.test_client().get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json["username"] == "ann"


def test_deleting_a_user_deletes_their_second_factor(
    app: Flask, auth: Auth, users: dict[str, User]
) -> None:
    enrol(app, auth, users["ann"])
    with app.app_context():
        assert auth.store.delete_user("ann")
        with auth.store.engine.connect() as conn:
            for table in (auth.store.tables.two_factor, auth.store.tables.recovery_codes):
                assert conn.execute(select(table)).first() is None


# configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"AUTH_TWO_FACTOR": "yes"}, "AUTH_TWO_FACTOR"),
        ({"AUTH_TWO_FACTOR_REQUIRED_FOR": ["admin"]}, "AUTH_TWO_FACTOR_REQUIRED_FOR"),
        (
            {"AUTH_TWO_FACTOR": True, "AUTH_TWO_FACTOR_REQUIRED_FOR": "admin"},
            "AUTH_TWO_FACTOR_REQUIRED_FOR",
        ),
        (
            {"AUTH_TWO_FACTOR": True, "AUTH_TWO_FACTOR_REQUIRED_FOR": ["a,b"]},
            "AUTH_TWO_FACTOR_REQUIRED_FOR",
        ),
        ({"AUTH_TWO_FACTOR_REMEMBER_DAYS": -1}, "AUTH_TWO_FACTOR_REMEMBER_DAYS"),
        ({"AUTH_TWO_FACTOR_REMEMBER_DAYS": 1.5}, "AUTH_TWO_FACTOR_REMEMBER_DAYS"),
        ({"AUTH_TWO_FACTOR_ISSUER": "a:b"}, "AUTH_TWO_FACTOR_ISSUER"),
    ],
)
def test_bad_settings_fail_at_init_app_naming_the_key(
    make_app: t.Callable[..., Flask], config: dict[str, t.Any], key: str
) -> None:
    with pytest.raises(ValueError, match=key):
        make_app(**config)


@pytest.mark.parametrize("missing", ["pyotp", "segno"])
def test_the_feature_needs_its_extra(
    make_app: t.Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # what an uninstalled module imports as
    with pytest.raises(RuntimeError, match=r"flask-plug-auth\[two-factor\]"):
        make_app(AUTH_TWO_FACTOR=True)
    make_app()  # without the feature, the extra is not needed


# the app's own user model ----------------------------------------------------------------


class Base(DeclarativeBase):
    pass


class Member(UserModelMixin, Base):
    """A user model with a text primary key."""

    __tablename__ = "members"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: uuid4().hex)
    username: Mapped[str] = mapped_column(String(150), unique=True)


def test_the_second_factor_works_with_the_apps_user_model(
    db: t.Any, tmp_path: Path, login: Login, csrf: Csrf
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        SECRET_KEY=secrets.token_urlsafe(40),
        TESTING=True,
        AUTH_TWO_FACTOR=True,
        AUTH_TWO_FACTOR_REMEMBER_DAYS=7,
    )
    engine = db.engine()
    Base.metadata.create_all(engine)
    auth = Auth(app, engine=engine, user_model=Member)

    @app.get("/me")
    @auth.login_required
    def me() -> str:
        return str(g.user.username)

    password = "member-password-123"
    with app.app_context():
        auth.store.create_tables()
        member = auth.register_user("kim", password)
    client = app.test_client()
    assert login(client, "kim", password).status_code == 302
    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    match = SECRET.search(page)
    assert match is not None
    data = {"csrf_token": form_csrf(page), "code": code_at(match.group(1)), "password": password}
    assert client.post("/auth/two-factor/setup", data=data).status_code == 200
    client.post("/auth/logout", data={"csrf_token": csrf(client)})

    assert login(client, "kim", password).headers["Location"] == "/auth/two-factor"
    assert client.get("/me").status_code == 401
    response = send_code(client, code_at(match.group(1), 1), remember_device="on")
    assert response.status_code == 302
    assert client.get("/me").get_data(as_text=True) == "kim"
    client.post("/auth/logout", data={"csrf_token": csrf(client)})
    assert login(client, "kim", password).headers["Location"] == "/"  # remembered
    with app.app_context():
        assert auth.store.delete_user("kim")
        assert TwoFactorStore(auth.store).enrolment(member.id) is None


# for administrators ----------------------------------------------------------------------


def test_an_administrator_can_turn_it_off(
    app: Flask,
    auth: Auth,
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    with app.app_context():
        assert not auth.two_factor_enabled(users["ann"])
    enrol(app, auth, users["ann"])
    with app.app_context():
        assert auth.two_factor_enabled(users["ann"])
        assert auth.disable_two_factor(users["ann"])
        assert not auth.two_factor_enabled(users["ann"])
        assert not auth.disable_two_factor(users["ann"])
    assert login(app.test_client(), "ann", passwords["ann"]).headers["Location"] == "/"


def test_the_cli_turns_it_off(app: Flask, auth: Auth, users: dict[str, User]) -> None:
    runner = app.test_cli_runner()
    enrol(app, auth, users["ann"])
    refused = runner.invoke(args=["auth", "disable-two-factor", "ann"], input="n\n")
    assert refused.exit_code != 0
    result = runner.invoke(args=["auth", "disable-two-factor", "ANN", "--yes"])
    assert result.exit_code == 0, result.output
    assert "turned off" in result.output
    again = runner.invoke(args=["auth", "disable-two-factor", "ann", "--yes"])
    assert again.exit_code == 1 and "has no second factor" in again.output
    nobody = runner.invoke(args=["auth", "disable-two-factor", "nobody", "--yes"])
    assert nobody.exit_code == 1 and "no user named" in nobody.output


def test_keep_me_logged_in_is_kept_for_after_the_code(
    make_app: t.Callable[..., Flask],
    auth: Auth,
    users: dict[str, User],
    login: Login,
    passwords: dict[str, str],
) -> None:
    app = make_app(AUTH_TWO_FACTOR=True, AUTH_REMEMBER_DAYS=30)
    secret = enrol(app, auth, users["ann"])
    client = app.test_client()
    response = login(client, "ann", passwords["ann"], remember=True)
    assert "remember_token=" not in str(response.headers.getlist("Set-Cookie"))
    response = send_code(client, code_at(secret, 1))
    assert "remember_token=" in str(response.headers.getlist("Set-Cookie"))


def test_a_wrong_code_sends_login_failed(
    app: Flask, auth: Auth, users: dict[str, User], login: Login, passwords: dict[str, str]
) -> None:
    enrol(app, auth, users["ann"])
    failures: list[tuple[str, str]] = []

    def record(sender: Flask, username: str, reason: str) -> None:
        failures.append((username, reason))

    client = app.test_client()
    login(client, "ann", passwords["ann"])
    with login_failed.connected_to(record, app):
        send_code(client, "abcdef")
    assert failures == [("ann", "two_factor")]
