"""``Storage.hit`` modes, the same in memory and in Redis: ``check`` changes nothing,
``charge`` charges all or none, ``force`` charges even limits without room, ``refund``
gives a charge back."""

from __future__ import annotations

import pytest

from flask_plug.ratelimit.backends import open_storage
from flask_plug.ratelimit.limits import parse_limits
from flask_plug.ratelimit.storage import Check

STRATEGIES = ["gcra", "fixed-window", "sliding-window"]


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_check_charge_and_force(storage: dict[str, str], strategy: str) -> None:
    store = open_storage(storage["storage_uri"], strategy, timeout=2.0, max_keys=100)
    prefix = storage.get("key_prefix", "mem")
    [small] = parse_limits("2/hour", "test")
    [big] = parse_limits("10/hour", "test")
    checks = [Check(f"{prefix}:{{c}}:small", small, 1), Check(f"{prefix}:{{c}}:big", big, 1)]

    def remaining(mode: str = "check") -> list[int]:
        return [usage.remaining for usage in store.hit(checks, mode)]  # type: ignore[arg-type]

    assert remaining() == [1, 9]
    assert remaining() == [1, 9]  # a check charges nothing
    assert [u.allowed for u in store.hit(checks)] == [True, True]
    assert [u.allowed for u in store.hit(checks)] == [True, True]
    refused = store.hit(checks)
    assert [u.allowed for u in refused] == [False, True]
    assert remaining() == [0, 7]  # the refused charge reached neither limit
    forced = store.hit(checks, "force")
    assert [u.allowed for u in forced] == [False, True]
    assert [u.allowed for u in store.hit(checks, "check")] == [False, True]
    assert store.hit(checks, "check")[1].remaining == 6  # forced onto both
    # Remaining counts are those a charge would leave: the small limit holds 3 of 2.
    store.hit(checks, "refund")
    assert remaining() == [0, 7]
    store.hit(checks[:1], "refund")
    assert remaining() == [0, 7]
    store.hit(checks[:1], "refund")
    assert remaining() == [1, 7]
    store.hit(checks[:1], "refund")  # never below an empty count
    assert remaining() == [1, 7]
    assert [u.allowed for u in store.hit(checks)] == [True, True]
    assert remaining() == [0, 6]
