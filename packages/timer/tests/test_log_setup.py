"""The ``TIMER_LOG`` line shows up where the docs say it does, in a fresh interpreter with
no logging set up but what the script does: logging is process-wide, and pytest's own
capture would show records a user's terminal never does."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest

from .conftest import docs_example, run_script

LINE = r"GET / 200 \d+\.\d{3} ms"


# Flask's default handler: "[2026-12-02 07:47:36,065] WARNING in middleware: <message>".
def default_handler(level: str) -> str:
    return r"\[[^]]+\] " + level + " in middleware: " + LINE


APP = """
from flask import Flask
from flask_plug.timer import Timer

app = Flask(__name__)
Timer(app, log=True{options})
app.get("/")(lambda: "home")
app.test_client().get("/")
"""


def test_the_docs_example_shows_the_line(tmp_path: Path) -> None:
    code, (shown,) = docs_example("test_log_setup.py::test_the_docs_example_shows_the_line")
    result = run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(re.sub(r"\d+\.\d{3}", r"\\d+\\.\\d{3}", shown), result.stderr.strip())
    # basicConfig's format; the app's name is its module's file name.
    assert re.fullmatch(f"INFO:app:{LINE}", result.stderr.strip())


@pytest.mark.parametrize(
    ("options", "shown"),
    [
        # Flask's default handler shows what passes the logger's level: WARNING, inherited.
        ("", None),
        (", log_level='WARNING'", default_handler("WARNING")),
        (", log_level='ERROR'", default_handler("ERROR")),
    ],
    ids=["info-not-shown", "warning", "error"],
)
def test_without_logging_set_up(tmp_path: Path, options: str, shown: t.Any) -> None:
    result = run_script(APP.format(options=options), tmp_path)
    assert result.returncode == 0, result.stderr
    if shown is None:
        assert result.stderr == ""
    else:
        assert re.fullmatch(shown, result.stderr.strip())


def test_in_debug_mode_the_info_line_shows(tmp_path: Path) -> None:
    code = APP.format(options="").replace(
        "app = Flask(__name__)", "app = Flask(__name__)\napp.debug = True"
    )
    result = run_script(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(default_handler("INFO"), result.stderr.strip())
