"""Redis behind Sentinels, against a real master, replica and three Sentinels: counts go
on across a failover, the policy applies while no master answers, and the URIs are
checked at ``init_app``."""

from __future__ import annotations

import logging
import re
import time
import typing as t
from uuid import uuid4

import pytest
from flask import Flask

from flask_plug.ratelimit import RateLimiter
from flask_plug_testing import RedisSentinelServers, RedisServer, TLSFiles

redis = pytest.importorskip("redis")

if t.TYPE_CHECKING:
    from pathlib import Path

    from werkzeug.test import TestResponse

_STATE = re.compile(r'"(?P<name>[^"]*)";r=(?P<r>\d+);t=\d+')


def _remaining(response: TestResponse) -> dict[str, int]:
    """The ``RateLimit`` header as ``{policy name: remaining}``."""
    return {m["name"]: int(m["r"]) for m in _STATE.finditer(response.headers.get("RateLimit", ""))}


def _app(storage_uri: str, limits: str, **options: t.Any) -> Flask:
    app = Flask(f"sentinel_{uuid4().hex[:8]}")
    limiter = RateLimiter(app, storage_uri=storage_uri, key_prefix=f"test-{uuid4().hex}", **options)
    app.add_url_rule("/", "index", limiter.limit(limits)(lambda: "ok"))
    return app


def _messages(caplog: pytest.LogCaptureFixture, app: Flask) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == app.logger.name]


# --- the URI -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("redis+sentinel://h:26379", "names no Sentinel service"),
        ("redis+sentinel://h:26379/", "names no Sentinel service"),
        ("redis+sentinel://h:26379?service=mymaster", "names no Sentinel service"),
        ("valkey+sentinel://h:26379", "names no Sentinel service"),
        ("redis+sentinel://h:26379,/mymaster", "empty host"),
        ("redis+sentinel://h:abc/mymaster", "port"),
        ("redis+sentinel://h:26379/mymaster/abc", "database"),
        ("redis+sentinel://h:26379/mymaster/0?db=x", "db"),
        ("redis+sentinel://h:26379/mymaster?no_such_option=1", "no_such_option"),
        ("redis+sentinel://h:26379/mymaster?socket_timeout=abc", "socket_timeout"),
        ("rediss+sentinel://h:26379/mymaster?ssl_no_such=1", "ssl_no_such"),
        ("redis+sentinel://h:26379/mymaster?ssl_ca_certs=/ca.crt", "ssl_ca_certs"),
    ],
)
def test_a_bad_sentinel_uri_fails_at_init_app_naming_the_key(
    init_app_error: t.Callable[[str], str], uri: str, problem: str
) -> None:
    assert problem in init_app_error(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "redis+sentinel://:s3cret@h:26379",
        "redis+sentinel://user:s3cret@h:abc/mymaster",
        "redis+sentinel://h:26379/mymaster/x?sentinel_password=s3cret",
        "valkey+sentinel://:s3cret@h:26379/mymaster?no_such_option=1",
    ],
)
def test_a_bad_sentinel_uri_error_does_not_show_the_password(
    init_app_error: t.Callable[[str], str], uri: str
) -> None:
    assert "s3cret" not in init_app_error(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "redis+sentinel://127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381/mymaster",
        "redis+sentinel://h/mymaster",  # port 26379
        "redis+sentinel://:pw@h:26379/mymaster/2?sentinel_password=",
        "redis+sentinel://user:pw@h:26379/mymaster?sentinel_username=s&sentinel_password=t",
        "rediss+sentinel://h:26379/mymaster?ssl_cert_reqs=none",
        "valkey+sentinel://h:26379/mymaster",
        "valkeys+sentinel://h:26379/mymaster",
    ],
)
def test_a_good_sentinel_uri_is_accepted_without_connecting(uri: str) -> None:
    RateLimiter(Flask(__name__), storage_uri=uri)  # nothing listens on these


# --- counting through the Sentinels --------------------------------------------------------


@pytest.mark.parametrize("scheme", ["redis+sentinel", "valkey+sentinel"])
def test_the_master_the_sentinels_name_keeps_the_counts(
    redis_sentinel: RedisSentinelServers, scheme: str
) -> None:
    app = _app(redis_sentinel.url(scheme), "3/hour")
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(4)] == [200, 200, 200, 429]
    prefix = app.extensions["flask-plug-ratelimit"].settings.key_prefix
    assert len(t.cast(list[str], redis_sentinel.master.call("KEYS", f"{prefix}:*"))) == 1


def test_counts_go_on_after_a_sentinel_failover(redis_sentinel: RedisSentinelServers) -> None:
    app = _app(redis_sentinel.url(), "5/hour", on_storage_error="deny")
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]
    old = redis_sentinel.master
    redis_sentinel.wait_for_replica()  # replication is asynchronous: let it catch up

    new = redis_sentinel.failover()  # returns once the old master replicates the new one

    # The old connection is closed or refused: the client asks the Sentinels again.
    assert new is not old
    responses = [client.get("/") for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert _remaining(responses[0]) == {"index/5-3600": 1}
    prefix = app.extensions["flask-plug-ratelimit"].settings.key_prefix
    assert len(t.cast(list[str], new.call("KEYS", f"{prefix}:*"))) == 1


def test_while_no_master_answers_the_policy_applies_then_counts_go_on(
    redis_sentinel: RedisSentinelServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    app = _app(redis_sentinel.url(), "4/hour", on_storage_error="deny")
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(2)] == [200, 200]
    old = redis_sentinel.master
    redis_sentinel.wait_for_replica()

    old.kill()
    try:
        codes = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = client.get("/")
            codes.append(response.status_code)
            if response.status_code != 503:
                break
            time.sleep(0.05)
        # Denied while the Sentinels had no master to name, then counted on the new one.
        assert codes[0] == 503 and set(codes[:-1]) == {503}
        assert codes[-1] == 200, codes
        assert _remaining(response) == {"index/4-3600": 1}
        assert [client.get("/").status_code for _ in range(2)] == [200, 429]
        messages = _messages(caplog, app)
        assert [m for m in messages if "rate limit storage failed" in m][0].startswith(
            "rate limit storage failed, requests are denied"
        )
        assert "rate limit storage is answering again" in messages
    finally:
        redis_sentinel.restart(old)  # back, as a replica of the new master
        redis_sentinel.wait_until_healthy()


def test_sentinels_that_want_a_password_get_sentinel_password(
    redis_sentinel: RedisSentinelServers, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    # A Sentinel of this test's own, with a password, watching the shared master (which
    # has none): only the Sentinel must get it.
    master = redis_sentinel.master
    config = f"sentinel monitor locked {master.address[0]} {master.port} 1\n"
    with RedisServer(tmp_path, config=config, sentinel=True, password="s3cret") as sentinel:
        uri = f"redis+sentinel://127.0.0.1:{sentinel.port}/locked"
        without = _app(uri, "2/hour")
        assert [without.test_client().get("/").status_code for _ in range(3)] == [200] * 3
        [failure] = [m for m in _messages(caplog, without) if "rate limit storage failed" in m]
        assert "AuthenticationError" in failure
        assert "s3cret" not in failure

        with_password = _app(f"{uri}?sentinel_password=s3cret", "2/hour")
        client = with_password.test_client()
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]


def test_a_service_the_sentinels_do_not_know_gets_the_policy_and_says_so(
    redis_sentinel: RedisSentinelServers, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    uri = redis_sentinel.url().rpartition("/")[0] + "/no-such-service"
    app = _app(uri, "1/hour")
    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 200]  # "allow"
    failures = [m for m in _messages(caplog, app) if "rate limit storage failed" in m]
    assert len(failures) == 1
    assert "No master found for 'no-such-service'" in failures[0]


def test_rediss_sentinel_speaks_tls_to_the_sentinels_and_the_master(
    redis_tls: TLSFiles, tmp_path: Path
) -> None:
    with RedisSentinelServers(tmp_path, tls=redis_tls) as servers:
        # rediss+sentinel://...?ssl_ca_certs=<the CA>
        app = _app(servers.url(), "2/hour", on_storage_error="deny")
        client = app.test_client()
        assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
        # Without TLS no Sentinel answers: the policy applies, at once (each Sentinel is
        # asked once, not ten times with backoff as redis-py would by default).
        plain = _app(
            servers.url("redis+sentinel").partition("?")[0], "2/hour", on_storage_error="deny"
        )
        started = time.monotonic()
        assert plain.test_client().get("/").status_code == 503
        assert time.monotonic() - started < 5  # 22 s with redis-py's default retries
