"""The ``TIMER_LOG`` line is one line whatever the client sends: paths and methods are
escaped, so newlines and terminal escapes cannot forge or hide log lines."""

from __future__ import annotations

import logging
import re
import typing as t

import pytest
from flask import Flask

from flask_plug.timer import Timer

LINE = re.compile(r"(?P<method>\S+) (?P<path>\S+) (?P<status>\d{3}) \d+\.\d{3} ms")


def make_app() -> Flask:
    app = Flask(__name__)
    app.config["TIMER_LOG"] = True
    Timer(app)
    app.get("/")(lambda: "ok")
    return app


def logged(app: Flask, caplog: pytest.LogCaptureFixture, **kwargs: t.Any) -> str:
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger=app.logger.name):
        app.test_client().open(**kwargs)
    [record] = [r for r in caplog.records if r.name == app.logger.name]
    message = record.getMessage()
    assert message.isprintable(), message
    assert LINE.fullmatch(message), message
    return message


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        pytest.param(
            "/a%0AGET /admin 200 0.001 ms", r"/a\x0aGET\x20/admin\x20200\x200.001\x20ms", id="LF"
        ),
        pytest.param("/a%0D%0Ab", r"/a\x0d\x0ab", id="CRLF"),
        pytest.param("/%1B[31mred%1B[0m", r"/\x1b[31mred\x1b[0m", id="ANSI"),
        pytest.param("/%1B]0;title%07", r"/\x1b]0;title\x07", id="OSC-title"),
        pytest.param("/a%00b%7Fc", r"/a\x00b\x7fc", id="NUL-DEL"),
        pytest.param("/%C2%85next", r"/\x85next", id="NEL"),
        pytest.param("/%E2%80%A8x%E2%80%AEy", r"/\u2028x\u202ey", id="LS-RLO"),
        pytest.param("/caf%C3%A9/%E6%97%A5", "/café/日", id="UTF-8-text-kept"),
        pytest.param("/back%5Cslash%5Cx0a", r"/back\\slash\\x0a", id="backslash"),
        pytest.param("/two%20words", r"/two\x20words", id="space"),
        pytest.param("/plain/path-1.txt", "/plain/path-1.txt", id="plain"),
    ],
)
def test_path_is_escaped(caplog: pytest.LogCaptureFixture, path: str, shown: str) -> None:
    message = logged(make_app(), caplog, path=path)
    assert LINE.fullmatch(message)["path"] == shown  # type: ignore[index]


def test_bytes_that_are_not_utf8_are_escaped(caplog: pytest.LogCaptureFixture) -> None:
    # The test client decodes %FF itself; a server hands the byte over as it came.
    message = logged(make_app(), caplog, environ_overrides={"PATH_INFO": "/\xff\xfe\xc3\xa9\xc3"})
    assert LINE.fullmatch(message)["path"] == r"/\xff\xfeé\xc3"  # type: ignore[index]


def test_method_is_escaped(caplog: pytest.LogCaptureFixture) -> None:
    message = logged(make_app(), caplog, path="/", method="GE\x1b[2JT\r\n")
    assert LINE.fullmatch(message)["method"] == r"GE\x1b[2JT\x0d\x0a"  # type: ignore[index]


def test_long_path_is_cut(caplog: pytest.LogCaptureFixture) -> None:
    message = logged(make_app(), caplog, path="/" + "%0A" * 5000)
    path = LINE.fullmatch(message)["path"]  # type: ignore[index]
    assert len(path) <= 1000
    assert path.endswith("...")
