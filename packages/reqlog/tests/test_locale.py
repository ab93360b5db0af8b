"""``%t`` is ``[dd/Mon/yyyy:HH:MM:SS +zzzz]`` with English month names, in the local time
zone, whatever the locale: log parsers expect exactly that.

Each case runs in a fresh interpreter, since locale and time zone are process-wide.
"""

from __future__ import annotations

import calendar
import json
import os
import re
import shutil
import subprocess
import sys
import typing as t
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
CLF_TIME = re.compile(
    rf"\[(\d\d)/({'|'.join(MONTHS)})/(\d{{4}}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\]"
)
# Noon UTC on the 15th of each month of 2026: one timestamp per month name, and both
# sides of daylight saving time in zones that have it.
MID_MONTHS = [calendar.timegm((2026, month, 15, 12, 0, 0, 0, 0, 0)) for month in range(1, 13)]
# Locales to try first: every one of their month abbreviations differs from English.
PREFERRED = ["fr_FR.UTF-8", "fr_FR.utf8", "ru_RU.UTF-8", "ru_RU.utf8", "es_ES.UTF-8"]
ENGLISH = re.compile(r"^(C|POSIX|en_[A-Z]{2})([.@]|$)", re.IGNORECASE)
MISSING_LOCALE = (
    "no non-English locale is installed: on Debian, `apt-get install -y locales-all`, "
    "or `apt-get install -y locales`, uncomment fr_FR.UTF-8 in /etc/locale.gen and run "
    "locale-gen"
)

# Run in a child: set the locale, log one real request and the twelve mid-month
# timestamps through the compiled format, and print what came out as JSON.
CHILD = r"""
import json, locale, os, sys, tempfile, time

wanted = sys.argv[1]
locale.setlocale(locale.LC_ALL, wanted)

from flask import Flask
from flask_plug.reqlog import LogEntry, RequestLog

with tempfile.TemporaryDirectory() as folder:
    app = Flask("locale_probe", instance_path=folder)

    @app.get("/")
    def index():
        return "ok"

    reqlog = RequestLog(app, output=os.path.join(folder, "access.log"), format="%t %>s")
    before = time.time()
    with app.test_client().get("/") as response:
        response.get_data()
    after = time.time()
    assert reqlog.flush(app, timeout=10)
    reqlog.close(app)
    with open(os.path.join(folder, "access.log"), encoding="utf-8") as log:
        line = log.read()
    formatter = reqlog.settings(app).formatter
    entries = [
        formatter(LogEntry({}, "200 OK", [], 0, 0, float(second), "id"))
        for second in json.loads(sys.argv[2])
    ]

print(json.dumps({
    "line": line,
    "before": before,
    "after": after,
    "entries": entries,
    "locale": locale.setlocale(locale.LC_TIME),
    "native_months": [time.strftime("%b", (2026, m, 15, 12, 0, 0, 0, 1, 0)) for m in range(1, 13)],
}))
"""


def run_child(locale_name: str, tz: str) -> dict[str, t.Any]:
    env = {**os.environ, "LC_ALL": locale_name, "LANG": locale_name, "TZ": tz}
    env.pop("LANGUAGE", None)
    result = subprocess.run(
        [sys.executable, "-c", CHILD, locale_name, json.dumps(MID_MONTHS)],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    output: dict[str, t.Any] = json.loads(result.stdout)
    return output


def clf(second: int, zone: ZoneInfo) -> str:
    """The expected ``%t`` text, from zoneinfo and integers: no strftime, no locale."""
    moment = datetime.fromtimestamp(second, timezone.utc).astimezone(zone)
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return (
        f"[{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year:04d}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {sign}{hours:02d}{minutes:02d}]"
    )


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        message = f"time zone {name} is not installed (Debian package tzdata)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def installed_locales() -> list[str]:
    locale_program = shutil.which("locale")
    if locale_program is None:
        return []
    result = subprocess.run([locale_program, "-a"], capture_output=True, text=True, check=False)
    return result.stdout.split()


@pytest.fixture(scope="module")
def foreign_locale() -> str:
    """A non-English locale that is installed, preferring one whose month abbreviations all
    differ from the English ones."""
    names = installed_locales()
    foreign = [name for name in names if not ENGLISH.match(name)]
    chosen = next((name for name in PREFERRED if name in foreign), None)
    chosen = chosen or next((name for name in foreign if "utf" in name.lower()), None)
    if chosen is None:
        if os.environ.get("CI"):
            pytest.fail(MISSING_LOCALE)
        pytest.skip(MISSING_LOCALE)
    return chosen


def check_output(output: dict[str, t.Any], tz: str) -> list[str]:
    """Check the request's line and the twelve months against zoneinfo; return the
    offsets seen."""
    where = zone(tz)
    line = output["line"]
    assert line.endswith(" 200\n"), line
    stamp = line.removesuffix(" 200\n")
    assert CLF_TIME.fullmatch(stamp), stamp
    seconds = range(int(output["before"]), int(output["after"]) + 1)
    assert stamp in {clf(second, where) for second in seconds}

    offsets = []
    for second, entry, month in zip(MID_MONTHS, output["entries"], MONTHS, strict=True):
        stamp = entry.removesuffix(" 200")
        match = CLF_TIME.fullmatch(stamp)
        assert match, stamp
        assert match[2] == month
        assert stamp == clf(second, where)
        offsets.append(match[7] + match[8] + match[9])
    return offsets


@pytest.mark.parametrize(
    ("tz", "offsets"),
    [
        ("UTC", {"+0000"}),
        ("Asia/Kolkata", {"+0530"}),
        ("America/New_York", {"-0500", "-0400"}),
        ("America/St_Johns", {"-0330", "-0230"}),
        ("Australia/Lord_Howe", {"+1100", "+1030"}),
    ],
)
def test_time_uses_the_tz_zone_and_its_offset(tz: str, offsets: set[str]) -> None:
    output = run_child("C.UTF-8", tz)
    assert set(check_output(output, tz)) == offsets


@pytest.mark.parametrize("tz", ["Europe/Paris", "Asia/Kolkata", "America/New_York"])
def test_months_are_english_under_a_non_english_locale(foreign_locale: str, tz: str) -> None:
    output = run_child(foreign_locale, tz)
    # The child really ran in that locale: strftime there names months otherwise.
    assert output["locale"] == foreign_locale
    assert output["native_months"] != list(MONTHS)
    check_output(output, tz)
