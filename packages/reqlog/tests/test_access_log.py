from __future__ import annotations

import re
import typing as t

import pytest
from flask import Flask

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

COMBINED = re.compile(
    r'(?P<host>\S+) - (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-) "(?P<referer>(?:[^"\\]|\\.)*)" '
    r'"(?P<agent>(?:[^"\\]|\\.)*)"'
)


def test_combined_line_for_a_request(client: FlaskClient, read_log: t.Any) -> None:
    headers = {"Referer": "https://example.com/page", "User-Agent": "curl/8"}
    with client.get("/?a=1", headers=headers) as response:
        body = response.data
    (line,) = read_log()
    match = COMBINED.fullmatch(line)
    assert match, line
    assert match["host"] == "127.0.0.1"
    assert match["request"] == "GET /?a=1 HTTP/1.1"
    assert match["status"] == "200"
    assert int(match["bytes"]) == len(body)
    assert match["referer"] == "https://example.com/page"
    assert match["agent"] == "curl/8"


@pytest.mark.parametrize(
    ("path", "status"), [("/missing", "404"), ("/forbidden", "403"), ("/boom", "500")]
)
def test_errors_get_exactly_one_line(
    client: FlaskClient, read_log: t.Any, path: str, status: str
) -> None:
    with client.get(path) as response:
        assert response.status_code == int(status)
    (line,) = read_log()
    assert COMBINED.fullmatch(line)["status"] == status  # type: ignore[index]


def test_propagated_exception_is_logged_as_500(
    app: Flask, client: FlaskClient, read_log: t.Any
) -> None:
    app.testing = True
    with pytest.raises(RuntimeError):
        client.get("/boom")
    (line,) = read_log()
    assert COMBINED.fullmatch(line)["status"] == "500"  # type: ignore[index]


def test_streamed_body_is_counted_in_full(client: FlaskClient, read_log: t.Any) -> None:
    with client.get("/stream") as response:
        assert len(response.data) == 10_000
    (line,) = read_log()
    assert COMBINED.fullmatch(line)["bytes"] == "10000"  # type: ignore[index]


def test_line_is_written_when_the_response_is_closed(client: FlaskClient, read_log: t.Any) -> None:
    response = client.get("/stream")
    assert read_log() == []
    response.close()
    assert len(read_log()) == 1
