from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask

from flask_plug.ratelimit import LimiterSettings, RateLimiter


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"RATELIMIT_DEFAULT": "10/fortnight"}, "RATELIMIT_DEFAULT: '10/fortnight' is not a limit"),
        ({"RATELIMIT_STORAGE_URI": "memcached://x"}, "RATELIMIT_STORAGE_URI must be 'memory://'"),
        ({"RATELIMIT_STRATEGY": "leaky"}, "RATELIMIT_STRATEGY must be one of gcra"),
        ({"RATELIMIT_KEY_FUNC": "remote_addr"}, "RATELIMIT_KEY_FUNC must be a function"),
        ({"RATELIMIT_ON_STORAGE_ERROR": "ignore"}, "RATELIMIT_ON_STORAGE_ERROR must be 'allow'"),
        ({"RATELIMIT_STORAGE_TIMEOUT_MS": 0}, "RATELIMIT_STORAGE_TIMEOUT_MS must be a whole"),
        ({"RATELIMIT_STORAGE_TIMEOUT_MS": "100"}, "RATELIMIT_STORAGE_TIMEOUT_MS must be a whole"),
        ({"RATELIMIT_HEADERS": "yes"}, "RATELIMIT_HEADERS must be True or False"),
        ({"RATELIMIT_EXEMPT_METHODS": "OPTIONS"}, "RATELIMIT_EXEMPT_METHODS must be a list"),
        ({"RATELIMIT_KEY_PREFIX": ""}, "RATELIMIT_KEY_PREFIX must be a non-empty string"),
        ({"RATELIMIT_LEGACY_RESET": "epoch"}, "RATELIMIT_LEGACY_RESET must be 'seconds' or 'unix'"),
    ],
)
def test_bad_config_fails_at_init_app_naming_the_key(
    config: dict[str, t.Any], message: str
) -> None:
    app = Flask(__name__)
    app.config.update(config)
    with pytest.raises(ValueError, match=re.escape(message)):
        RateLimiter(app)


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="unknown RateLimiter option"):
        RateLimiter(Flask(__name__), defaults="1/s")  # type: ignore[call-arg]


def test_keyword_beats_config_beats_default() -> None:
    app = Flask(__name__)
    app.config.update(RATELIMIT_DEFAULT="5/minute", RATELIMIT_STRATEGY="fixed-window")
    RateLimiter(strategy="sliding-window").init_app(app, legacy_headers=True)
    settings = app.extensions["flask-plug-ratelimit"].settings
    assert isinstance(settings, LimiterSettings)
    assert settings.strategy == "sliding-window"
    assert [lim.text for lim in settings.default] == ["5 per 1 minute"]
    assert settings.legacy_headers and settings.on_storage_error == "allow"


def test_init_app_twice_is_an_error() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app)
    with pytest.raises(RuntimeError, match="already registered on this app"):
        limiter.init_app(app)


def test_one_limiter_serves_several_apps_with_their_own_counts() -> None:
    limiter = RateLimiter()
    apps = [Flask("one"), Flask("two")]
    for app in apps:
        app.add_url_rule("/", "x", limiter.limit("1/minute")(lambda: "ok"))
        limiter.init_app(app)
    assert [app.test_client().get("/").status_code for app in apps] == [200, 200]


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("memcached://x", "must be 'memory://'"),  # a scheme no storage speaks
        ("redis+tls://x", "must be 'memory://'"),
        ("redis://[bad", "not a URL"),  # an IPv6 host without its closing bracket
        ("rediss://[::1", "not a URL"),
        ("redis://host:abc", "port"),
        ("redis://host:99999", "port"),
        ("redis://host:0", "port"),
        ("redis://host:-1", "port"),
        ("redis://ho st:6379", "host"),
        ("redis://host/abc", "database"),
        ("redis://host/-1", "database"),
        ("redis://host/0/1", "database"),
        ("redis://host/0?db=x", "db"),
        ("unix://", "socket path"),
        ("unix:///tmp/redis.sock?db=x", "db"),
        ("redis://host/0?socket_timeout=abc", "socket_timeout"),
        ("redis://host/0?no_such_option=1", "no_such_option"),
    ],
)
def test_bad_storage_uri_fails_at_init_app_naming_the_key(
    init_app_error: t.Callable[[str], str], uri: str, problem: str
) -> None:
    pytest.importorskip("redis")
    assert problem in init_app_error(uri)


@pytest.mark.parametrize(
    "uri",
    ["redis://user:s3cret@host:port/0", "memcached://user:s3cret@host", "redis+tls://:s3cret@h"],
)
def test_storage_uri_error_does_not_show_the_password(
    init_app_error: t.Callable[[str], str], uri: str
) -> None:
    pytest.importorskip("redis")
    assert "s3cret" not in init_app_error(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "memory://",
        "redis://127.0.0.1:6379/0",
        "redis://127.0.0.1",
        "redis://",
        "rediss://user:pw@[::1]:6380/2",
        "redis://h?db=3",
        "redis://h/0?socket_timeout=0.5&health_check_interval=10",
        "unix:///tmp/redis.sock?db=1",
    ],
)
def test_good_storage_uri_is_accepted(uri: str) -> None:
    pytest.importorskip("redis")
    RateLimiter(Flask(__name__), storage_uri=uri)
