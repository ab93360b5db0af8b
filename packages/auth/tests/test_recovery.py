"""Password reset by mail, on the built-in user table and on an app's own model, with the
mails read off a real SMTP server (the ``smtp`` fixture)."""

from __future__ import annotations

import logging
import secrets
import typing as t
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from flask import Flask
from itsdangerous import URLSafeTimedSerializer

from flask_plug.auth import Auth

if t.TYPE_CHECKING:
    from email.message import EmailMessage
    from pathlib import Path

    from flask.testing import FlaskClient

PASSWORD = "ann-correct-horse-battery"
NEW_PASSWORD = "a-brand-new-passphrase"
HTML = {"Accept": "text/html"}
JSON = {"Accept": "application/json"}
SENT = (
    "If an account has that name or address and an email address, a link to set a new"
    " password is on its way there."
)
BAD_LINK = "This link is invalid, has expired, or was used already."


def form_token(client: FlaskClient, path: str) -> str:
    page = client.get(path, headers=HTML)
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    return text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def post(
    client: FlaskClient, path: str, data: dict[str, str], csrf_from: str | None = None, **kw: t.Any
) -> t.Any:
    """POST a form with its CSRF token; the response is closed, as a server does, which
    is when mail goes out."""
    data = {"csrf_token": form_token(client, csrf_from or path), **data}
    response = client.post(path, data=data, headers=kw.pop("headers", HTML), **kw)
    response.close()
    return response


def ask_reset(client: FlaskClient, login: str, **kw: t.Any) -> t.Any:
    return post(client, "/auth/reset", {"login": login}, **kw)


def local(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "localhost", url
    return parts.path


def set_password(
    client: FlaskClient,
    link: str,
    password: str,
    again: str | None = None,
    csrf_from: str | None = None,
) -> t.Any:
    path = local(link)
    data = {"password": password, "password2": again or password}
    return post(client, path, data, csrf_from=csrf_from)


def login_status(app: Flask, name: str, password: str) -> int:
    client = app.test_client()
    return post(client, "/auth/login", {"username": name, "password": password}).status_code


class Site(t.NamedTuple):
    app: Flask
    auth: Auth


MakeSite = t.Callable[..., Site]


def test_reset_by_name_and_by_address(site: Site, smtp: t.Any) -> None:
    client = site.app.test_client()
    for login in ("ann", "ANN@example.com"):
        response = ask_reset(client, login)
        assert response.status_code == 200
        assert SENT in response.get_data(as_text=True)
    first, second = smtp.messages
    assert first["To"] == "ann@example.com"
    assert first["From"] == "Example <no-reply@example.com>"
    assert first["Subject"] == "Reset your password"
    assert first["Auto-Submitted"] == "auto-generated"
    assert "ann" in smtp.body(first)
    assert local(smtp.link(first)).startswith("/auth/reset/")
    assert local(smtp.link(second)).startswith("/auth/reset/")


def test_the_login_page_links_to_what_is_on(site: Site, client: FlaskClient) -> None:
    html = {"Accept": "text/html"}
    page = site.app.test_client().get("/auth/login", headers=html).get_data(as_text=True)
    assert 'href="/auth/reset"' in page and 'href="/auth/register"' not in page
    off = client.get("/auth/login", headers=html).get_data(as_text=True)  # all off
    assert 'href="/auth/reset"' not in off


def test_the_link_sets_the_password_once_and_ends_every_session(site: Site, smtp: t.Any) -> None:
    app = site.app
    logged_in = app.test_client()
    assert (
        post(logged_in, "/auth/login", {"username": "ann", "password": PASSWORD}).status_code == 302
    )
    with app.app_context():
        ann = site.auth.store.find_user("ann")
        assert ann is not None
        token = site.auth.create_token(ann[0], "cli")
    assert logged_in.get("/me", headers=JSON).status_code == 200
    assert (
        app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )

    client = app.test_client()
    ask_reset(client, "ann")
    link = smtp.link(smtp.messages[0])
    page = client.get(local(link), headers=HTML)
    assert page.status_code == 200
    assert 'name="password2"' in page.get_data(as_text=True)

    response = set_password(client, link, NEW_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    # Not logged in by the reset: the login page shows the notice, no session.
    login_page = client.get("/auth/login", headers=HTML).get_data(as_text=True)
    assert "Your password has been changed" in login_page

    assert login_status(app, "ann", PASSWORD) == 401
    assert login_status(app, "ann", NEW_PASSWORD) == 302
    # The other browser's session and the API token ended with the old password.
    assert logged_in.get("/me", headers=JSON).status_code == 401
    assert (
        app.test_client().get("/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )

    # The link dies with the password it was made for.
    again = app.test_client()
    assert again.get(local(link), headers=HTML).status_code == 400
    dead = set_password(again, link, "yet-another-passphrase", csrf_from="/auth/reset")
    assert dead.status_code == 400
    assert login_status(app, "ann", NEW_PASSWORD) == 302


def test_same_answer_for_unknown_accounts_and_no_mail(make_site: MakeSite, smtp: t.Any) -> None:
    site = make_site(AUTH_MAX_MAILS_PER_ADDRESS=100)
    client = site.app.test_client()
    answers = set()
    for login in ("ann", "nobody", "nobody@example.com", "bob", "x" * 400, ""):
        response = ask_reset(client, login)
        answers.add(
            (
                response.status_code,
                response.get_data(as_text=True).replace(form_token(client, "/auth/reset"), ""),
            )
        )
        json = post(client, "/auth/reset", {"login": login}, headers=JSON)
        assert (json.status_code, json.get_json()) == (200, {"message": SENT})
    assert len(answers) == 1
    assert [m["To"] for m in smtp.messages] == ["ann@example.com"] * 2  # bob has no address


def test_inactive_users_get_no_mail(site: Site, smtp: t.Any) -> None:
    with site.app.app_context():
        found = site.auth.store.find_user("ann")
        assert found is not None
        site.auth.store.set_active(site.auth.store.users.user_id(found[0]), False)
    response = ask_reset(site.app.test_client(), "ann")
    assert response.status_code == 200 and SENT in response.get_data(as_text=True)
    assert smtp.messages == []


def test_the_new_password_is_checked(site: Site, smtp: t.Any) -> None:
    client = site.app.test_client()
    ask_reset(client, "ann")
    link = smtp.link(smtp.messages[0])
    differ = set_password(client, link, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert differ.status_code == 400
    assert "The two passwords differ." in differ.get_data(as_text=True)
    short = set_password(client, link, "short")
    assert short.status_code == 400
    assert "at least 8 characters" in short.get_data(as_text=True)
    # Still usable: nothing was changed.
    assert set_password(client, link, NEW_PASSWORD).status_code == 302


def test_the_form_needs_its_csrf_token(site: Site, smtp: t.Any) -> None:
    client = site.app.test_client()
    response = client.post("/auth/reset", data={"login": "ann"}, headers=HTML)
    response.close()
    assert response.status_code == 400
    ask_reset(client, "ann")
    link = smtp.link(smtp.messages[0])
    other = site.app.test_client()
    posted = other.post(local(link), data={"password": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert posted.status_code == 400
    assert login_status(site.app, "ann", PASSWORD) == 302


def test_expired_forged_and_garbled_links_fail_cleanly(make_site: MakeSite, smtp: t.Any) -> None:
    app, _ = make_site(AUTH_RESET_LIFETIME=timedelta(seconds=1))
    client = app.test_client()
    with app.app_context():
        found = app.extensions["flask-plug-auth"].store.find_user("ann")
        user_id = app.extensions["flask-plug-auth"].store.users.user_id(found[0])
    signer = URLSafeTimedSerializer(app.secret_key, salt="flask-plug-auth.reset")
    forged = URLSafeTimedSerializer(secrets.token_hex(32), salt="flask-plug-auth.reset")
    old = signer.dumps(
        [user_id, "0" * 32],
    )  # the right key, the wrong fingerprint
    for token in (
        old,
        forged.dumps([user_id, "0" * 32]),
        "garbage",
        "a" * 5000,
        "%00",
        signer.dumps({"not": "a list"}),
        signer.dumps([user_id]),
        signer.dumps([[1], 2]),
        signer.dumps([[1], "0" * 32]),
        signer.dumps([True, "0" * 32]),
    ):
        response = client.get(f"/auth/reset/{token}", headers=HTML)
        assert response.status_code in (400, 404), token
    # An expired link: signed 2 seconds ago, 1 allowed.
    ask_reset(client, "ann")
    link = smtp.link(smtp.messages[0])
    token = local(link).rsplit("/", 1)[1]
    values, timestamp = signer.loads(token, return_timestamp=True)
    expired = _sign_at(signer, values, timestamp.timestamp() - 2)
    response = client.get(f"/auth/reset/{expired}", headers=HTML)
    assert response.status_code == 400
    assert BAD_LINK in response.get_data(as_text=True)


def _sign_at(signer: URLSafeTimedSerializer, values: t.Any, when: float) -> str:
    timed = signer.make_signer(signer.salt)
    timed.get_timestamp = lambda: int(when)  # type: ignore[attr-defined,method-assign]
    return timed.sign(signer.dump_payload(values)).decode()


def test_links_signed_with_a_fallback_key_still_work(make_site: MakeSite, smtp: t.Any) -> None:
    app, _ = make_site()
    client = app.test_client()
    ask_reset(client, "ann")
    link = smtp.link(smtp.messages[0])
    old_key = app.secret_key
    app.config.update(SECRET_KEY=secrets.token_urlsafe(40), SECRET_KEY_FALLBACKS=[old_key])
    client = app.test_client()  # the session cookie was signed with the old key too
    assert client.get(local(link), headers=HTML).status_code == 200
    assert set_password(client, link, NEW_PASSWORD).status_code == 302


def test_reset_requests_are_limited_per_account_and_address(
    make_site: MakeSite, smtp: t.Any
) -> None:
    app, _ = make_site(AUTH_MAX_MAILS=2, AUTH_MAX_MAILS_PER_ADDRESS=3)
    client = app.test_client()
    statuses = [ask_reset(client, "ann").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert len(smtp.messages) == 2
    limited = ask_reset(client, "ANN")  # the same account in another case
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # The address's own limit: other names count against it too (refused requests not).
    assert ask_reset(client, "nobody").status_code == 200
    assert ask_reset(client, "someone").status_code == 429
    assert len(smtp.messages) == 2


def test_a_broken_mail_server_is_logged_once_and_changes_nothing(
    make_site: MakeSite, smtp: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    closed_port = smtp.port
    app, _ = make_site(AUTH_MAIL_PORT=1)  # nothing listens there
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            response = ask_reset(client, "ann")
            assert response.status_code == 200
            assert SENT in response.get_data(as_text=True)
    errors = [r for r in caplog.records if "could not be sent" in r.getMessage()]
    assert len(errors) == 1
    assert closed_port  # the working server received nothing
    assert smtp.messages == []


def test_a_custom_sender_replaces_smtp(make_site: MakeSite, smtp: t.Any) -> None:
    app, auth = make_site()
    sent: list[EmailMessage] = []

    @auth.mail_sender
    def keep(message: EmailMessage) -> None:
        from flask import current_app

        assert current_app.name == app.name  # run in an app context
        sent.append(message)

    ask_reset(app.test_client(), "ann")
    assert [m["To"] for m in sent] == ["ann@example.com"]
    assert smtp.messages == []


def test_a_custom_sender_that_raises_is_logged(
    make_site: MakeSite, caplog: pytest.LogCaptureFixture
) -> None:
    app, auth = make_site()

    @auth.mail_sender
    def broken(message: EmailMessage) -> None:
        raise RuntimeError("the mail API is down")

    with caplog.at_level(logging.ERROR):
        response = ask_reset(app.test_client(), "ann")
    assert response.status_code == 200 and SENT in response.get_data(as_text=True)
    assert "the mail API is down" in caplog.text


def test_links_do_not_follow_a_forged_host(make_site: MakeSite, smtp: t.Any) -> None:
    app, _ = make_site()
    client = app.test_client()
    token = form_token(client, "/auth/reset")
    forged = client.post(
        "/auth/reset",
        data={"csrf_token": token, "login": "ann"},
        headers={**HTML, "Host": "evil.example"},
    )
    forged.close()
    assert forged.status_code == 400
    assert smtp.messages == []


def test_links_are_on_server_name_when_set(make_site: MakeSite, smtp: t.Any) -> None:
    app, _ = make_site(SERVER_NAME="accounts.example.com", TRUSTED_HOSTS=None)
    client = app.test_client()
    ask_reset(client, "ann")  # the test client asks SERVER_NAME
    link = smtp.link(smtp.messages[0])
    assert link.startswith("http://accounts.example.com/auth/reset/")


def test_an_app_template_wins(make_site: MakeSite, smtp: t.Any, tmp_path: Path) -> None:
    templates = tmp_path / "templates" / "auth"
    (templates / "mail").mkdir(parents=True)
    (templates / "reset_request.html").write_text(
        '<p>Our own reset page</p><form><input name="csrf_token" value="{{ csrf_token() }}"></form>'
    )
    (templates / "mail" / "reset.txt").write_text("Subject: Our own subject\n\nGo to {{ link }}\n")
    app, _ = make_site()
    app.template_folder = str(tmp_path / "templates")
    client = app.test_client()
    assert "Our own reset page" in client.get("/auth/reset", headers=HTML).get_data(as_text=True)
    ask_reset(client, "ann")
    (message,) = smtp.messages
    assert message["Subject"] == "Our own subject"
    assert smtp.body(message).startswith("Go to http://localhost/auth/reset/")


def test_features_are_off_by_default(app: Flask, client: FlaskClient) -> None:
    for path in (
        "/auth/reset",
        "/auth/reset/x",
        "/auth/register",
        "/auth/register/x",
        "/auth/email",
        "/auth/email/x",
    ):
        assert client.get(path).status_code == 404, path


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"AUTH_MAIL_FROM": None}, "AUTH_MAIL_FROM must be set"),
        ({"AUTH_MAIL_FROM": "not an address"}, "AUTH_MAIL_FROM must be"),
        ({"AUTH_MAIL_FROM": "a@b.example\r\nBcc: x@y.example"}, "AUTH_MAIL_FROM must be"),
        ({"AUTH_MAIL_PORT": 0}, "AUTH_MAIL_PORT must be"),
        ({"AUTH_MAIL_PORT": "25"}, "AUTH_MAIL_PORT must be"),
        ({"AUTH_MAIL_SECURITY": "tls"}, "AUTH_MAIL_SECURITY must be"),
        ({"AUTH_MAIL_TIMEOUT": 0}, "AUTH_MAIL_TIMEOUT must be"),
        ({"AUTH_MAIL_USERNAME": "me"}, "AUTH_MAIL_USERNAME and AUTH_MAIL_PASSWORD"),
        ({"AUTH_MAIL_PASSWORD": 12345}, "AUTH_MAIL_PASSWORD must be a string"),
        ({"AUTH_PASSWORD_RESET": "yes"}, "AUTH_PASSWORD_RESET must be True or False"),
        ({"AUTH_RESET_LIFETIME": -1}, "AUTH_RESET_LIFETIME must be"),
        ({"AUTH_MAX_MAILS": 0}, "AUTH_MAX_MAILS must be"),
        ({"TRUSTED_HOSTS": None}, "set SERVER_NAME or TRUSTED_HOSTS"),
    ],
)
def test_bad_mail_config_fails_at_init_app(
    tmp_path: Path, config: dict[str, t.Any], message: str
) -> None:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        TRUSTED_HOSTS=["localhost"],
        AUTH_PASSWORD_RESET=True,
        AUTH_MAIL_FROM="no-reply@example.com",
        AUTH_DATABASE_URI="sqlite://",
    )
    app.config.update(config)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        Auth(app)


def test_a_stored_address_that_cannot_be_mailed_changes_nothing(
    make_site: MakeSite, smtp: t.Any, caplog: pytest.LogCaptureFixture
) -> None:
    app, auth = make_site(AUTH_LOGIN_FIELDS=["username"])
    with app.app_context():  # set by the app, past every check of auth's forms
        auth.register_user("eve", PASSWORD, email="eve@example.com\nBcc: all@example.com")
    with caplog.at_level(logging.ERROR):
        response = ask_reset(app.test_client(), "eve")
    assert response.status_code == 200 and SENT in response.get_data(as_text=True)
    assert smtp.messages == []
    assert "could not be sent" in caplog.text


@pytest.mark.parametrize(
    "value",
    ["", "\x00", "a\r\nBcc: x@y.example", "%ED%A0%80%ff", "İ" * 150, "x" * 100_000, "@", "a@b"],
)
def test_adversarial_input_never_fails_the_server(
    make_site: MakeSite, smtp: t.Any, value: str
) -> None:
    app, _ = make_site(
        AUTH_REGISTRATION=True, AUTH_EMAIL_CHANGE=True, AUTH_MAX_MAILS_PER_ADDRESS=1000
    )
    client = app.test_client()
    token = form_token(client, "/auth/reset")
    fields = {"login": value, "username": value, "email": value, "password": value}
    for path in ("/auth/reset", "/auth/register", "/auth/email"):
        for data in (fields, {**fields, "password2": value}, {"csrf_token": token, **fields}):
            response = client.post(path, data=data, headers=HTML)
            response.close()
            assert response.status_code < 500, (path, data)
        raw = f"csrf_token={token}&login=%ED%A0%80%ff&email=%ff&password=%ff&password2=%ff"
        response = client.post(
            path, data=raw, content_type="application/x-www-form-urlencoded", headers=HTML
        )
        response.close()
        assert response.status_code < 500, path
    for path in ("/auth/reset/", "/auth/register/", "/auth/email/"):
        for token_value in (value or "x", "x" * 5000, "a.b.c"):
            response = client.get(path + token_value.replace("/", ""), headers=HTML)
            assert response.status_code in (400, 404), path
