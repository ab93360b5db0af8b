"""The JSON view's history: one point per complete interval, each request counted in the
interval it began in, the last ``STATS_HISTORY_SAMPLES`` intervals only.

Intervals are real time, a few tenths of a second long. A request is expected in an interval
only when the test saw it begin and end inside it (with a couple of milliseconds to spare,
for the two clocks the app and the test read), so no assertion depends on how fast this
machine runs.
"""

from __future__ import annotations

import math
import time
import typing as t
from collections import Counter

import pytest
from flask import Flask

from flask_plug.stats import Stats

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

SLACK = 0.002
POINT_KEYS = {"start", "requests", "errors", "mean", "p50", "p95", "p99"}


def make_app(**options: t.Any) -> Flask:
    app = Flask(__name__)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    Stats(app, **options)

    @app.get("/users/<int:user_id>")
    def user(user_id: int) -> str:
        return f"user {user_id}"

    @app.get("/boom")
    def boom() -> str:
        raise ZeroDivisionError

    @app.get("/sleep/<int:ms>")
    def sleep(ms: int) -> str:
        time.sleep(ms / 1000)
        return "slept"

    return app


def history(client: FlaskClient) -> dict[str, t.Any]:
    response = client.get("/admin/stats")
    assert response.status_code == 200
    result: dict[str, t.Any] = response.json["history"]
    return result


class Traffic:
    """Requests sent, by the interval each was seen to begin and end in."""

    def __init__(self, client: FlaskClient, interval: float) -> None:
        self.client = client
        self.interval = interval
        self.requests: Counter[int] = Counter()
        self.errors: Counter[int] = Counter()
        self.unsure = 0  # sent across an interval's end: either one may count them
        self.sent = 0

    def get(self, path: str) -> int:
        before = time.time()
        status = self.client.get(path).status_code
        after = time.time()
        first = math.floor((before - SLACK) / self.interval)
        last = math.floor((after + SLACK) / self.interval)
        self.sent += 1
        if first != last:
            self.unsure += 1
        else:
            self.requests[first] += 1
            self.errors[first] += status >= 500
        return status

    def wait_for_interval(self, number: int) -> None:
        """Sleep until interval ``number`` has begun."""
        time.sleep(max(0.0, number * self.interval - time.time()) + SLACK)

    def now(self) -> int:
        return math.floor(time.time() / self.interval)


def by_interval(points: list[dict[str, t.Any]], interval: float) -> dict[int, dict[str, t.Any]]:
    return {round(point["start"] / interval): point for point in points}


def test_each_request_counts_in_the_interval_it_began_in() -> None:
    interval = 0.25
    traffic = Traffic(make_app(history_interval=interval).test_client(), interval)
    begun = traffic.now()
    for number in range(begun + 1, begun + 5):
        traffic.wait_for_interval(number)
        for i in range(number - begun + 2):  # 3, 4, 5, 6 requests
            traffic.get("/boom" if i == 0 else f"/users/{i}")
    traffic.wait_for_interval(traffic.now() + 1)  # the last one complete

    report = history(traffic.client)
    assert report["interval"] == interval
    points = report["points"]
    assert all(set(point) == POINT_KEYS for point in points)
    assert sum(point["requests"] for point in points) == traffic.sent == 18
    assert sum(point["errors"] for point in points) == 4
    counted = by_interval(points, interval)
    for number, requests in traffic.requests.items():
        assert requests <= counted[number]["requests"] <= requests + traffic.unsure
        errors = traffic.errors[number]
        assert errors <= counted[number]["errors"] <= errors + traffic.unsure
    # One point for every interval from the first request's to the last complete one.
    numbers = sorted(counted)
    assert numbers == list(range(numbers[0], traffic.now()))
    assert [point["start"] for point in points] == sorted(point["start"] for point in points)


def test_the_first_read_has_the_history_already() -> None:
    """The rates come from the server: the first read has them, and so does the next."""
    interval = 0.2
    traffic = Traffic(make_app(history_interval=interval).test_client(), interval)
    for _ in range(5):
        traffic.get("/users/1")
    traffic.wait_for_interval(traffic.now() + 1)
    first = history(traffic.client)["points"]
    again = history(traffic.client)["points"]
    assert sum(point["requests"] for point in first) == 5
    assert [p for p in again if p["requests"]] == [p for p in first if p["requests"]]


def test_intervals_without_requests_are_empty_points() -> None:
    interval = 0.2
    traffic = Traffic(make_app(history_interval=interval).test_client(), interval)
    begun = traffic.now()
    traffic.wait_for_interval(begun + 1)
    traffic.get("/users/1")
    traffic.wait_for_interval(begun + 4)  # two intervals go by without a request
    traffic.get("/users/2")
    traffic.wait_for_interval(begun + 5)

    counted = by_interval(history(traffic.client)["points"], interval)
    for number in (begun + 2, begun + 3):
        assert counted[number] == {
            "start": pytest.approx(number * interval),
            "requests": 0,
            "errors": 0,
            "mean": None,
            "p50": None,
            "p95": None,
            "p99": None,
        }
    assert sum(point["requests"] for point in counted.values()) == 2


def test_an_interval_has_its_own_percentiles() -> None:
    """Fast requests in one interval, slow ones in the next: each point's percentiles
    are those of its own requests, as the endpoint's are of the same requests."""
    interval = 1.0
    traffic = Traffic(make_app(history_interval=interval).test_client(), interval)
    fast = traffic.now() + 1
    traffic.wait_for_interval(fast)
    for user_id in range(10):
        traffic.get(f"/users/{user_id}")
    traffic.wait_for_interval(fast + 1)
    for _ in range(3):
        traffic.get("/sleep/60")
    traffic.wait_for_interval(fast + 2)

    response = traffic.client.get("/admin/stats").json
    counted = by_interval(response["history"]["points"], interval)
    assert traffic.unsure == 0, "a request took half a second"
    for number, endpoint, requests in [(fast, "user", 10), (fast + 1, "sleep", 3)]:
        point, totals = counted[number], response["endpoints"][endpoint]
        assert point["requests"] == totals["count"] == requests
        for key in ("mean", "p50", "p95", "p99"):
            assert point[key] == pytest.approx(totals[key]), key
    assert counted[fast + 1]["p50"] >= 0.05  # no sleep is shorter than asked


def test_only_the_last_intervals_are_kept() -> None:
    interval, kept = 0.05, 3
    app = make_app(history_interval=interval, history_samples=kept)
    traffic = Traffic(app.test_client(), interval)
    deadline = time.time() + 0.6  # a dozen intervals
    while time.time() < deadline:
        traffic.get("/users/1")
    last_complete = traffic.now() - 1
    points = history(traffic.client)["points"]
    assert len(points) <= kept
    assert round(points[-1]["start"] / interval) >= last_complete
    # Memory: the samples kept, one more than the intervals shown.
    assert len(app.extensions["flask-plug-stats"].history.stored()) <= kept + 1


def test_no_history_when_samples_is_zero() -> None:
    interval = 0.05
    traffic = Traffic(make_app(history_interval=interval, history_samples=0).test_client(), 0.05)
    traffic.get("/users/1")
    traffic.wait_for_interval(traffic.now() + 2)
    traffic.get("/users/1")
    assert history(traffic.client) == {"interval": interval, "points": []}


def test_history_options_from_config() -> None:
    app = Flask(__name__)
    app.config.update(STATS_HISTORY_INTERVAL=2, STATS_HISTORY_SAMPLES=0)
    Stats(app)
    assert history(app.test_client()) == {"interval": 2.0, "points": []}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("STATS_HISTORY_INTERVAL", 0),
        ("STATS_HISTORY_INTERVAL", -1),
        ("STATS_HISTORY_INTERVAL", 0.001),
        ("STATS_HISTORY_INTERVAL", math.inf),
        ("STATS_HISTORY_INTERVAL", math.nan),
        ("STATS_HISTORY_INTERVAL", "10"),
        ("STATS_HISTORY_INTERVAL", True),
        ("STATS_HISTORY_SAMPLES", -1),
        ("STATS_HISTORY_SAMPLES", 1.5),
        ("STATS_HISTORY_SAMPLES", "180"),
        ("STATS_HISTORY_SAMPLES", False),
        ("STATS_HISTORY_SAMPLES", 10_081),
    ],
)
def test_bad_history_options_fail_at_init_app_naming_the_key(key: str, value: object) -> None:
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(ValueError, match=key) as error:
        Stats(app)
    assert repr(value) in str(error.value)
