"""Limit strings: ``"10/minute"``, ``"100 per hour"``, ``"5/10 seconds burst 10"``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_ALIASES = {"s": "second", "sec": "second", "m": "minute", "min": "minute", "h": "hour", "d": "day"}
_LIMIT = re.compile(
    r"\s*(?P<amount>\d+)\s*(?:/|\s+per\s+)\s*(?P<count>\d+\s*)?(?P<unit>[a-z]+?)s?"
    r"(?:\s+burst\s+(?P<burst>\d+))?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Limit:
    """``amount`` requests per ``period`` seconds, with up to ``burst`` at once.

    For GCRA (the default algorithm) ``burst`` is the bucket size: a quiet client may
    send ``burst`` requests at once, then one every ``period / amount`` seconds. The
    window algorithms ignore it. It defaults to ``amount``.
    """

    amount: int
    period: int
    burst: int
    text: str
    """The limit as written, normalised: ``"10 per 1 minute"``."""
    interval: float = 0.0
    """Seconds between two requests at the sustained rate (``period / amount``)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "interval", self.period / self.amount)

    @property
    def id(self) -> str:
        """A short, stable name for storage keys and headers: ``"10-60"``."""
        return f"{self.amount}-{self.period}" + (
            "" if self.burst == self.amount else f"-{self.burst}"
        )


def parse_limits(text: str, where: str) -> tuple[Limit, ...]:
    """Parse one or more limits separated by ``;``.

    :param where: how the error names the source, e.g. ``"RATELIMIT_DEFAULT"``.
    :raises ValueError: quoting the part that is not a limit.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: expected limits like '10/minute; 1000/day', got {text!r}")
    return tuple(_parse_one(part, where) for part in text.split(";"))


def _parse_one(part: str, where: str) -> Limit:
    match = _LIMIT.fullmatch(part)
    unit = None if match is None else _ALIASES.get(match["unit"].lower(), match["unit"].lower())
    if match is None or unit not in _UNITS:
        raise ValueError(
            f"{where}: {part.strip()!r} is not a limit; write '10/minute', '100 per hour',"
            " '5/10 seconds' or '10/minute burst 20' (units: second, minute, hour, day)"
        )
    amount = int(match["amount"])
    count = int(match["count"] or 1)
    burst = int(match["burst"] or amount)
    if amount < 1 or count < 1 or burst < 1:
        raise ValueError(f"{where}: {part.strip()!r}: amounts and periods must be at least 1")
    period = count * _UNITS[unit]
    text = f"{amount} per {count} {unit}{'s' if count != 1 else ''}"
    if burst != amount:
        text += f" burst {burst}"
    return Limit(amount=amount, period=period, burst=burst, text=text)
