from __future__ import annotations

import logging
import os
import secrets
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from flask_plug.auth import Auth


@pytest.fixture
def engine() -> t.Iterator[Engine]:
    """An engine that is never connected: these tests stop before the database."""
    engine = create_engine("sqlite://")
    yield engine
    engine.dispose()


@pytest.fixture
def bare_app(tmp_path: Path) -> Flask:
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(SECRET_KEY=secrets.token_hex(32), TESTING=True)
    return app


@pytest.mark.parametrize(
    "secret",
    [
        None,
        "",
        "dev",
        "changeme",
        "unsafe-default-key",
        " Secret-Key ",
        os.urandom(16),
        secrets.token_hex(8),
        "x" * 31,
    ],
    ids=[
        "missing",
        "empty",
        "dev",
        "changeme",
        "unsafe-default-key",
        "secret-key",
        "16-random-bytes",
        "16-chars",
        "31-chars",
    ],
)
def test_weak_secret_key_raises_at_init_app_naming_it(
    bare_app: Flask, engine: Engine, secret: str | bytes | None
) -> None:
    if secret is None:
        del bare_app.config["SECRET_KEY"]
    else:
        bare_app.config["SECRET_KEY"] = secret
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        Auth(bare_app, engine=engine)
    assert "flask-plug-auth" not in bare_app.extensions


@pytest.mark.parametrize(
    "secret", [secrets.token_bytes(32), secrets.token_urlsafe(40)], ids=["bytes", "text"]
)
def test_random_secret_key_of_32_bytes_is_accepted(
    bare_app: Flask, engine: Engine, secret: str | bytes
) -> None:
    bare_app.config["SECRET_KEY"] = secret
    Auth(bare_app, engine=engine)
    assert "flask-plug-auth" in bare_app.extensions


def cookie_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING and "flask-plug-auth" in record.getMessage()
    ]


def test_insecure_cookie_settings_are_logged_outside_debug_and_testing(
    bare_app: Flask, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    bare_app.config.update(TESTING=False, SESSION_COOKIE_SECURE=False)
    with caplog.at_level(logging.WARNING):
        Auth(bare_app, engine=engine)
    warnings = cookie_warnings(caplog)
    assert any("SESSION_COOKIE_SECURE" in message for message in warnings), warnings


def test_samesite_none_is_logged_outside_debug_and_testing(
    bare_app: Flask, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    bare_app.config.update(TESTING=False, SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE=None)
    with caplog.at_level(logging.WARNING):
        Auth(bare_app, engine=engine)
    warnings = cookie_warnings(caplog)
    assert len(warnings) == 1 and "SESSION_COOKIE_SAMESITE" in warnings[0], warnings


def test_safe_cookie_settings_log_nothing(
    bare_app: Flask, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    bare_app.config.update(TESTING=False, SESSION_COOKIE_SECURE=True, SESSION_COOKIE_SAMESITE="Lax")
    with caplog.at_level(logging.WARNING):
        Auth(bare_app, engine=engine)
    assert cookie_warnings(caplog) == []


@pytest.mark.parametrize("mode", ["TESTING", "DEBUG"])
def test_cookie_warnings_are_silent_in_testing_and_debug(
    bare_app: Flask, engine: Engine, caplog: pytest.LogCaptureFixture, mode: str
) -> None:
    bare_app.config.update(TESTING=mode == "TESTING", SESSION_COOKIE_SECURE=False)
    bare_app.debug = mode == "DEBUG"
    with caplog.at_level(logging.WARNING):
        Auth(bare_app, engine=engine)
    assert cookie_warnings(caplog) == []


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"AUTH_MAX_FAILURES": 0}, "AUTH_MAX_FAILURES"),
        ({"AUTH_MAX_FAILURES": "5"}, "AUTH_MAX_FAILURES"),
        ({"AUTH_MAX_FAILURES": True}, "AUTH_MAX_FAILURES"),
        ({"AUTH_MAX_FAILURES_PER_ADDRESS": -1}, "AUTH_MAX_FAILURES_PER_ADDRESS"),
        ({"AUTH_REMEMBER_DAYS": -1}, "AUTH_REMEMBER_DAYS"),
        ({"AUTH_REMEMBER_DAYS": 1.5}, "AUTH_REMEMBER_DAYS"),
        ({"AUTH_URL_PREFIX": "auth"}, "AUTH_URL_PREFIX"),
        ({"AUTH_DEFAULT_NEXT": "https://example.com/"}, "AUTH_DEFAULT_NEXT"),
        ({"AUTH_SESSION_LIFETIME": 0}, "AUTH_SESSION_LIFETIME"),
        ({"AUTH_SESSION_LIFETIME": "7 days"}, "AUTH_SESSION_LIFETIME"),
        ({"AUTH_FAILURE_WINDOW": -60}, "AUTH_FAILURE_WINDOW"),
        ({"AUTH_API_BASIC": "yes"}, "AUTH_API_BASIC"),
        ({"AUTH_REALM": 'my "app"'}, "AUTH_REALM"),
        ({"AUTH_REALM": ""}, "AUTH_REALM"),
        ({"AUTH_LOGIN_VIEW": ""}, "AUTH_LOGIN_VIEW"),
    ],
)
def test_bad_config_value_raises_value_error_naming_the_key(
    bare_app: Flask, engine: Engine, config: dict[str, t.Any], key: str
) -> None:
    bare_app.config.update(config)
    with pytest.raises(ValueError, match=f"^{key} must be"):
        Auth(bare_app, engine=engine)


def test_bad_keyword_option_raises_value_error_naming_the_key(
    bare_app: Flask, engine: Engine
) -> None:
    with pytest.raises(ValueError, match="^AUTH_MAX_FAILURES must be"):
        Auth(engine=engine, max_failures=0).init_app(bare_app)


def test_unknown_keyword_option_raises_type_error(bare_app: Flask, engine: Engine) -> None:
    with pytest.raises(TypeError, match="max_failure"):
        Auth(bare_app, engine=engine, max_failure=3)


def test_keyword_option_wins_over_config(bare_app: Flask, engine: Engine) -> None:
    bare_app.config["AUTH_URL_PREFIX"] = "/from-config"
    Auth(bare_app, engine=engine, url_prefix="/accounts")
    assert bare_app.test_client().get("/accounts/login").status_code == 200
    assert bare_app.test_client().get("/from-config/login").status_code == 404


def test_init_app_twice_raises(bare_app: Flask, engine: Engine) -> None:
    auth = Auth(bare_app, engine=engine)
    with pytest.raises(RuntimeError, match="already registered"):
        auth.init_app(bare_app)
    with pytest.raises(RuntimeError, match="already registered"):
        Auth(bare_app, engine=engine)


def test_one_auth_object_serves_two_apps(engine: Engine, tmp_path: Path) -> None:
    auth = Auth(engine=engine)
    apps = [Flask(__name__, instance_path=str(tmp_path / name)) for name in ("one", "two")]
    for app, prefix in zip(apps, ["/auth", "/accounts"], strict=True):
        app.config.update(SECRET_KEY=secrets.token_hex(32), TESTING=True)
        auth.init_app(app, url_prefix=prefix)
    assert apps[0].test_client().get("/auth/login").status_code == 200
    assert apps[1].test_client().get("/accounts/login").status_code == 200


@pytest.mark.parametrize("value", [0, -1, "2", True, float("inf"), float("nan"), None])
def test_bad_db_timeout_raises_naming_the_key(
    bare_app: Flask, engine: Engine, value: t.Any
) -> None:
    bare_app.config["AUTH_DB_TIMEOUT"] = value  # None too: "no timeout" is not on offer
    with pytest.raises(ValueError, match="^AUTH_DB_TIMEOUT must be"):
        Auth(bare_app, engine=engine)


def test_bad_db_timeout_keyword_raises_naming_the_key(bare_app: Flask, engine: Engine) -> None:
    with pytest.raises(ValueError, match="^AUTH_DB_TIMEOUT must be .*, got -1$"):
        Auth(engine=engine, db_timeout=-1).init_app(bare_app)


def test_db_timeout_accepts_seconds(bare_app: Flask, engine: Engine) -> None:
    Auth(bare_app, engine=engine, db_timeout=0.5)
    assert bare_app.extensions["flask-plug-auth"].settings.db_timeout == 0.5


@pytest.mark.parametrize(
    "uri", ["nonsense://", "not a url", "nonsense://ann:s3cret-pw@db.example/auth"]
)
def test_bad_database_uri_raises_at_init_app_naming_the_key(bare_app: Flask, uri: str) -> None:
    bare_app.config["AUTH_DATABASE_URI"] = uri
    with pytest.raises(ValueError, match="^AUTH_DATABASE_URI") as error:
        Auth(bare_app)
    assert "s3cret-pw" not in str(error.value)
    assert "flask-plug-auth" not in bare_app.extensions


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("AUTH_SESSION_LIFETIME", -60),
        ("AUTH_FAILURE_WINDOW", -1.5),
        ("AUTH_TOKEN_LIFETIME", -5),
    ],
)
def test_negative_lifetime_is_reported_as_given(
    bare_app: Flask, engine: Engine, key: str, value: float
) -> None:
    bare_app.config[key] = value
    with pytest.raises(ValueError, match=f"^{key} must be .*, got {value}$"):
        Auth(bare_app, engine=engine)


def test_login_view_naming_no_endpoint_fails_the_first_request_naming_the_key(
    bare_app: Flask, engine: Engine
) -> None:
    bare_app.config["AUTH_LOGIN_VIEW"] = "nowhere"

    @bare_app.get("/")
    def index() -> str:
        return "public page"

    Auth(bare_app, engine=engine)
    client = bare_app.test_client()
    for _ in range(2):  # every request, until the configuration is fixed
        with pytest.raises(RuntimeError, match="^AUTH_LOGIN_VIEW 'nowhere' is not"):
            client.get("/")


def test_login_view_may_be_registered_after_init_app(bare_app: Flask, engine: Engine) -> None:
    auth = Auth(bare_app, engine=engine, login_view="sign_in")

    @bare_app.get("/sign-in")
    def sign_in() -> str:
        return "our own login page"

    @bare_app.get("/private")
    @auth.login_required
    def private() -> str:
        return "private"

    response = bare_app.test_client().get("/private", headers={"Accept": "text/html"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/private"
