from __future__ import annotations

import pytest

from flask_plug.ratelimit import Limit, parse_limits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/minute", [(10, 60, 10, "10 per 1 minute")]),
        ("100 per hour", [(100, 3600, 100, "100 per 1 hour")]),
        ("5/10 seconds", [(5, 10, 5, "5 per 10 seconds")]),
        ("1/day", [(1, 86400, 1, "1 per 1 day")]),
        ("10/Minutes burst 20", [(10, 60, 20, "10 per 1 minute burst 20")]),
        ("2/s; 100/h", [(2, 1, 2, "2 per 1 second"), (100, 3600, 100, "100 per 1 hour")]),
        (" 3 per 2 min ", [(3, 120, 3, "3 per 2 minutes")]),
    ],
)
def test_parse(text: str, expected: list[tuple[int, int, int, str]]) -> None:
    limits = parse_limits(text, "test")
    assert [(lim.amount, lim.period, lim.burst, lim.text) for lim in limits] == expected
    assert all(isinstance(lim, Limit) for lim in limits)


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("10/fortnight", "'10/fortnight'"),
        ("ten/minute", "'ten/minute'"),
        ("10/minute;", "''"),
        ("10/minute; 5", "'5'"),
        ("0/minute", "'0/minute'"),
        ("10 minute", "'10 minute'"),
        ("", "''"),
    ],
)
def test_malformed_limits_raise_quoting_the_text(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=r"RATELIMIT_DEFAULT") as info:
        parse_limits(text, "RATELIMIT_DEFAULT")
    assert bad in str(info.value)


def test_limit_id_names_burst_only_when_it_differs() -> None:
    [plain, bursty] = parse_limits("10/minute; 10/minute burst 30", "test")
    assert (plain.id, bursty.id) == ("10-60", "10-60-30")
