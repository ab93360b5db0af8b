"""What the headers report: on a 429, every limit as it stands with nothing charged; the
legacy ``X-RateLimit-*`` fields for the refusing limit; ``X-RateLimit-Reset`` in seconds or
as a Unix time; whole seconds that float noise does not push up."""

from __future__ import annotations

import math
import re
import time
import typing as t

import pytest
from flask import Flask

from flask_plug.ratelimit import RateLimiter
from flask_plug.ratelimit.headers import whole_seconds
from flask_plug.ratelimit.limits import parse_limits
from flask_plug.ratelimit.storage import Check

if t.TYPE_CHECKING:
    from werkzeug.test import TestResponse

STRATEGIES = ["gcra", "fixed-window", "sliding-window"]
CLIENT = "127.0.0.1"  # the test client's address


class Clock:
    """The memory storage's clock (``time.monotonic``), stopped: it moves when told to."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, now: float) -> None:
        self.now = now
        monkeypatch.setattr(time, "monotonic", lambda: self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


def state_of(response: TestResponse) -> dict[str, tuple[int, int]]:
    """``RateLimit``, as ``{name: (r, t)}``."""
    items = re.findall(r'"([^"]+)";r=(\d+);t=(\d+)', response.headers["RateLimit"])
    return {name: (int(r), int(t_)) for name, r, t_ in items}


def before_charging(app: Flask, counter: str, limit_text: str) -> tuple[int, int]:
    """``(r, t)`` of one limit of the test client as a request's check sees it before
    anything is charged: the storage's own answer for a cost of 0, changing nothing."""
    state = app.extensions["flask-plug-ratelimit"]
    [limit] = parse_limits(limit_text, "test")
    key = f"{state.storage_prefix(CLIENT)}:{counter}:{limit.id}"
    [usage] = state.storage.hit([Check(key, limit, 0)], "check")
    return usage.remaining, whole_seconds(usage.reset)


def steady_clock(storage: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Clock | None:
    """Keep a short test's reported seconds from changing under it: memory storage gets a
    stopped clock (mid-hour, mid-second); with Redis, whose clock runs on, wait until it is
    early in a second and not near the end of an hour, so the few requests of the test
    round to the same whole seconds."""
    if storage["storage_uri"] == "memory://":
        return Clock(monkeypatch, 3600 * 1000 + 1234.5)
    redis = pytest.importorskip("redis")
    with redis.Redis.from_url(storage["storage_uri"], socket_timeout=2) as client:
        while True:
            seconds, micros = client.time()
            if micros < 300_000 and seconds % 3600 < 3590:
                return None
            time.sleep(0.05)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_refusal_reports_the_other_limits_as_if_nothing_was_charged(
    storage: dict[str, str], strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = steady_clock(storage, monkeypatch)
    app = Flask(__name__)
    limiter = RateLimiter(app, strategy=strategy, legacy_headers=True, **storage)

    @app.get("/both")
    @limiter.limit("2/hour")
    @limiter.shared_limit("10/hour", scope="big")
    def both() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/both").status_code == 200
    if clock is not None:
        clock.advance(100.25)
    assert client.get("/both").status_code == 200
    if clock is not None:
        clock.advance(100.25)
    refused = client.get("/both")
    assert refused.status_code == 429
    reported = state_of(refused)
    # The refused limit, and the one with room: each as a check would see it now.
    assert reported["both/2-3600"] == before_charging(app, "both", "2/hour")
    assert reported["big/10-3600"] == before_charging(app, "big", "10/hour")
    assert reported["big/10-3600"][0] == 8
    # The legacy fields describe the limit that refused the request.
    assert refused.headers["X-RateLimit-Limit"] == "2"
    assert refused.headers["X-RateLimit-Remaining"] == str(reported["both/2-3600"][0])
    assert refused.headers["X-RateLimit-Reset"] == str(reported["both/2-3600"][1])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_refusal_in_a_new_window_reports_the_other_limits_as_they_stand(
    strategy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hour's window of "big" is still empty: a sliding window adds no extra period.
    clock = Clock(monkeypatch, 3600 * 1000 + 3000.5)
    app = Flask(__name__)
    limiter = RateLimiter(app, strategy=strategy)

    @app.get("/both")
    @limiter.limit("2/day")
    @limiter.shared_limit("10/hour", scope="big")
    def both() -> str:
        return "ok"

    client = app.test_client()
    assert client.get("/both").status_code == 200
    clock.advance(0.5)
    assert client.get("/both").status_code == 200
    clock.advance(900)  # into the next hour, the same day
    refused = client.get("/both")
    assert refused.status_code == 429
    reported = state_of(refused)
    assert reported["big/10-3600"] == before_charging(app, "big", "10/hour")
    assert reported["both/2-86400"] == before_charging(app, "both", "2/day")
    if strategy == "sliding-window":
        assert reported["big/10-3600"][1] <= 3600


def test_legacy_headers_on_a_429_describe_the_refusing_limit() -> None:
    app = Flask(__name__)
    limiter = RateLimiter(app, legacy_headers=True)

    @app.get("/")
    @limiter.limit("10/hour", cost=4)
    @limiter.shared_limit("3/hour", scope="cheap")
    def index() -> str:
        return "ok"

    client = app.test_client()
    assert [client.get("/").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/")
    # "index" refused it with 2 left (the cost is 4); "cheap" has 1 left, yet it did not.
    assert state_of(refused)["index/10-3600"][0] == 2
    assert state_of(refused)["cheap/3-3600"][0] == 1
    assert refused.headers["X-RateLimit-Limit"] == "10"
    assert refused.headers["X-RateLimit-Remaining"] == "2"


def test_seconds_are_whole_and_ignore_float_noise(monkeypatch: pytest.MonkeyPatch) -> None:
    # On this clock reading, adding then taking away 12 s does not give exactly 12.
    assert (4.1 + 12) - 4.1 > 12
    clock = Clock(monkeypatch, 4.1)
    app = Flask(__name__)
    limiter = RateLimiter(app, legacy_headers=True)
    app.get("/")(limiter.limit("5/minute")(lambda: "ok"))
    client = app.test_client()
    response = client.get("/")
    assert response.headers["RateLimit"] == '"<lambda>/5-60";r=4;t=12'
    assert response.headers["X-RateLimit-Reset"] == "12"
    for _ in range(4):
        clock.advance(0.001)
        client.get("/")
    clock.advance(0.001)
    refused = client.get("/")
    assert refused.headers["Retry-After"] == "12"
    assert refused.json is not None and refused.json["retry_after"] == 12


def test_legacy_reset_as_a_unix_time(monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(monkeypatch, 5000.0)
    monkeypatch.setattr(time, "time", lambda: 1_800_000_000.25)
    app = Flask(__name__)
    app.config["RATELIMIT_LEGACY_RESET"] = "unix"
    limiter = RateLimiter(app, legacy_headers=True)
    app.get("/")(limiter.limit("5/minute")(lambda: "ok"))
    response = app.test_client().get("/")
    # The app's clock now, plus the seconds the storage reports: 12.
    assert response.headers["X-RateLimit-Reset"] == str(math.ceil(1_800_000_000.25 + 12))
    assert state_of(response)["<lambda>/5-60"] == (4, 12)  # the IETF field stays relative


def test_legacy_reset_counts_seconds_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    Clock(monkeypatch, 5000.0)
    app = Flask(__name__)
    limiter = RateLimiter(app, legacy_headers=True, legacy_reset="seconds")
    app.get("/")(limiter.limit("5/minute")(lambda: "ok"))
    assert app.test_client().get("/").headers["X-RateLimit-Reset"] == "12"
    assert app.extensions["flask-plug-ratelimit"].settings.legacy_reset == "seconds"
