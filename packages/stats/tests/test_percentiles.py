"""Latency percentiles: ``quantile`` on buckets with known answers, then the JSON view's
p50/p95/p99 and mean for requests of known duration."""

from __future__ import annotations

import math
import typing as t

import pytest
from flask import Flask, request

from flask_plug.stats import Stats, quantile
from flask_plug.stats import middleware as stats_middleware

INF = math.inf

# 90 requests in (1 ms, 2.5 ms], 10 in (50 ms, 75 ms]: cumulative default buckets.
FAST_AND_SLOW = [
    (0.0005, 0.0), (0.001, 0.0), (0.0025, 90.0), (0.005, 90.0), (0.0075, 90.0),
    (0.01, 90.0), (0.025, 90.0), (0.05, 90.0), (0.075, 100.0), (0.1, 100.0), (INF, 100.0),
]  # fmt: skip


def test_no_observations_have_no_quantile() -> None:
    assert quantile(0.5, []) is None
    assert quantile(0.5, [(0.1, 0.0), (1.0, 0.0), (INF, 0.0)]) is None


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        (0.5, 0.001 + (0.0025 - 0.001) * 50 / 90),
        (0.95, 0.05 + (0.075 - 0.05) * 5 / 10),
        (0.99, 0.05 + (0.075 - 0.05) * 9 / 10),
        (1.0, 0.075),
    ],
)
def test_quantile_interpolates_linearly_inside_its_bucket(q: float, expected: float) -> None:
    assert quantile(q, FAST_AND_SLOW) == pytest.approx(expected)


def test_a_rank_on_a_bucket_bound_is_that_bound() -> None:
    assert quantile(0.5, [(1.0, 5.0), (2.0, 10.0), (INF, 10.0)]) == pytest.approx(1.0)


def test_empty_buckets_below_are_skipped() -> None:
    buckets = [(1.0, 0.0), (2.0, 0.0), (3.0, 10.0), (INF, 10.0)]
    assert quantile(0.5, buckets) == pytest.approx(2.5)


def test_a_single_bucket_interpolates_from_zero() -> None:
    assert quantile(0.25, [(1.0, 4.0), (INF, 4.0)]) == pytest.approx(0.25)
    assert quantile(0.5, [(1.0, 4.0)]) == pytest.approx(0.5)
    assert quantile(1.0, [(1.0, 4.0), (INF, 4.0)]) == pytest.approx(1.0)


def test_observations_beyond_the_last_finite_bucket_give_its_bound() -> None:
    all_in_inf = [(0.1, 0.0), (1.0, 0.0), (INF, 7.0)]
    assert quantile(0.5, all_in_inf) == 1.0
    assert quantile(0.99, all_in_inf) == 1.0
    assert quantile(0.5, [(INF, 4.0)]) is None  # no finite bound: nothing to say
    some_in_inf = [(0.1, 5.0), (1.0, 5.0), (INF, 10.0)]
    assert quantile(0.99, some_in_inf) == 1.0
    assert quantile(0.4, some_in_inf) == pytest.approx(0.08)


def test_quantiles_never_decrease_with_q() -> None:
    previous = 0.0
    for q in range(1, 101):
        estimate = quantile(q / 100, FAST_AND_SLOW)
        assert estimate is not None and estimate >= previous, q
        previous = estimate


def read_endpoint(app: Flask, name: str) -> dict[str, t.Any]:
    with app.test_client() as client:
        response = client.get("/admin/stats")
        assert response.status_code == 200
        endpoint: dict[str, t.Any] = response.json["endpoints"][name]
    return endpoint


def test_json_percentiles_of_known_durations_are_exact_across_methods(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fake clock gives every request its exact duration; GET and POST share the
    endpoint's percentiles, so they are those of FAST_AND_SLOW."""
    clock = [1000.0]
    monkeypatch.setattr(stats_middleware, "perf_counter", lambda: clock[0])
    app = Flask(__name__)
    Stats(app)

    @app.route("/work", methods=["GET", "POST"])
    def work() -> str:
        clock[0] += 0.06 if request.method == "POST" else 0.002
        return "done"

    with app.test_client() as client:
        for _ in range(90):
            assert client.get("/work").status_code == 200
        for _ in range(10):
            assert client.post("/work").status_code == 200
    endpoint = read_endpoint(app, "work")
    assert endpoint["count"] == 100
    assert endpoint["p50"] == pytest.approx(0.001 + 0.0015 * 50 / 90)
    assert endpoint["p95"] == pytest.approx(0.0625)
    assert endpoint["p99"] == pytest.approx(0.0725)
    assert endpoint["mean"] == pytest.approx((90 * 0.002 + 10 * 0.06) / 100)
