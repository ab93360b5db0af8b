"""What the Redis script is sent, without a server: the packed command carries exactly
the keys and arguments that other Redis storages pass through redis-py."""

from __future__ import annotations

import pytest

from flask_plug.ratelimit.limits import parse_limits
from flask_plug.ratelimit.redis_script import (
    packed_script_arguments,
    script_keys_and_args,
    usages_from_reply,
)
from flask_plug.ratelimit.storage import Check


@pytest.mark.parametrize("algorithm", ["gcra", "fixed-window", "sliding-window"])
@pytest.mark.parametrize("mode", ["charge", "check", "force", "refund"])
def test_packed_arguments_are_the_keys_and_arguments(algorithm: str, mode: str) -> None:
    limits = parse_limits("10/minute; 1000/day burst 50; 3/second", "test")
    # A cost past the packed ones kept at hand, and a key that is not ASCII.
    checks = [
        Check("rl:{10.0.0.1}:index:10-60", limits[0], 1),
        Check("rl:{user:zoë}:index:1000-86400-50", limits[1], 70),
        Check("rl:{10.0.0.1}:index:3-1", limits[2], 0),
    ]
    for _ in range(2):  # the second time from the cache of packed limits
        count, packed = packed_script_arguments(algorithm, checks, mode)  # type: ignore[arg-type]
        keys, args = script_keys_and_args(algorithm, checks, mode)  # type: ignore[arg-type]
        items = [b"3", *(key.encode() for key in keys), *args]
        assert count == len(items) == 3 + 5 * 3
        assert packed == b"".join(b"$%d\r\n%b\r\n" % (len(item), item) for item in items)
    assert args[:2] == [algorithm.encode(), mode.encode()]
    assert args[2:6] == [b"10", b"60", b"10", b"1"]
    assert args[6:10] == [b"1000", b"86400", b"50", b"70"]


def test_usages_from_a_flat_reply_of_integers() -> None:
    usages = usages_from_reply([1, 9, 6_000_000, 0, 0, 0, 59_999_999, 1_500_000])
    assert [tuple(usage) for usage in usages] == [
        (True, 9, 6.0, 0.0),
        (False, 0, 59.999999, 1.5),
    ]
