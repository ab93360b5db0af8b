"""The algorithms on an explicit clock: a refused request never changes state."""

from __future__ import annotations

import pytest

from flask_plug.ratelimit.algorithms import (
    STEPS,
    State,
    Step,
    Usage,
    fixed_window,
    gcra,
    sliding_window,
)
from flask_plug.ratelimit.limits import parse_limits


def run(step: Step, limit_text: str, times: list[float], cost: int = 1) -> list[Usage]:
    [limit] = parse_limits(limit_text, "test")
    state: State | None = None
    usages = []
    for now in times:
        usage, charged, _ = step(limit, cost, now, state)
        if usage.allowed:
            state = charged
        usages.append(usage)
    return usages


def test_gcra_allows_a_first_request_whatever_the_float_rounding() -> None:
    assert (0.21 + 60) - 60 > 0.21  # the clock reading that refused it
    assert [u.allowed for u in run(gcra, "1/minute", [0.21, 1.0, 60.21])] == [True, False, True]


def test_gcra_allows_the_burst_then_one_per_interval() -> None:
    usages = run(gcra, "10/minute", [1000.0] * 11 + [1005.9, 1006.0])
    assert [u.allowed for u in usages] == [True] * 10 + [False, False, True]
    assert [u.remaining for u in usages[:10]] == list(range(9, -1, -1))
    assert usages[10].retry_after == pytest.approx(6.0)
    assert usages[9].reset == pytest.approx(60.0)


def test_gcra_burst_larger_than_the_rate() -> None:
    usages = run(gcra, "1/second burst 5", [50.0] * 6)
    assert [u.allowed for u in usages] == [True] * 5 + [False]


def test_gcra_cost_above_the_burst_is_never_allowed() -> None:
    [usage] = run(gcra, "5/minute", [10.0], cost=6)
    assert not usage.allowed


def test_fixed_window_resets_at_the_window_edge() -> None:
    usages = run(fixed_window, "2/minute", [120.0, 130.0, 179.9, 180.0])
    assert [u.allowed for u in usages] == [True, True, False, True]
    assert usages[2].retry_after == pytest.approx(0.1)


def test_sliding_window_weighs_the_previous_window() -> None:
    # 4 requests at the end of one window; halfway through the next, they count for 2.
    usages = run(sliding_window, "4/minute", [119.0] * 4 + [150.0, 150.0, 150.0])
    assert [u.allowed for u in usages] == [True] * 4 + [True, True, False]
    assert usages[6].retry_after > 0


@pytest.mark.parametrize("name", sorted(STEPS))
def test_a_refusal_reports_what_a_forced_charge_would_store(name: str) -> None:
    [limit] = parse_limits("1/minute", "test")
    step = STEPS[name]
    usage, state, _ = step(limit, 1, 100.0, None)
    refused, forced, _ = step(limit, 1, 100.5, state)
    assert usage.allowed and not refused.allowed
    if name == "gcra":
        assert forced[0] > state[0]
    else:  # the same window, one more request in it
        assert (forced[0], forced[1]) == (state[0], state[1] + 1)
