"""Secrets in query strings, the Referer and headers never reach a log line; the rest does,
byte for byte."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from flask_plug.reqlog import DEFAULT_REDACT, REDACTED, RequestLog

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient

SECRET = "hunter2"
LINE = '"%r" %q "%{Referer}i"'


def start(app: Flask, reqlog: RequestLog, **options: t.Any) -> FlaskClient:
    reqlog.init_app(app, **options)
    return app.test_client()


def request(client: FlaskClient, target: str, **kwargs: t.Any) -> None:
    with client.get(target, **kwargs) as response:
        response.get_data()


@pytest.fixture
def line_client(app: Flask, reqlog: RequestLog) -> FlaskClient:
    """Logs the request line, the query and the referer."""
    return start(app, reqlog, format=LINE)


@pytest.fixture
def json_client(app: Flask, reqlog: RequestLog) -> FlaskClient:
    return start(app, reqlog, format="json")


def only_line(read_log: t.Callable[[], list[str]]) -> str:
    (line,) = read_log()
    assert SECRET not in line, line
    return line


# Query parameters


@pytest.mark.parametrize(
    "name",
    [
        *DEFAULT_REDACT,
        "PASSWORD",
        "Api_Key",
        "access_token",
        "refresh_token",
        "client_secret",
        "user_password",
        "sessionid",
        "X-Amz-Signature",
    ],
)
def test_secret_param_is_redacted_in_request_line_and_query(
    line_client: FlaskClient, read_log: t.Any, name: str
) -> None:
    request(line_client, f"/?user=alice&{name}={SECRET}&page=3")
    query = f"?user=alice&{name}={REDACTED}&page=3"
    assert only_line(read_log) == f'"GET /{query} HTTP/1.1" {query} "-"'


@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        pytest.param(f"pass%77ord={SECRET}", f"pass%77ord={REDACTED}", id="percent-encoded-letter"),
        pytest.param(f"%70%61ssword={SECRET}", f"%70%61ssword={REDACTED}", id="percent-prefix"),
        pytest.param(f"api%5Fkey={SECRET}", f"api%5Fkey={REDACTED}", id="percent-underscore"),
        pytest.param(f"PASS%57ORD={SECRET}", f"PASS%57ORD={REDACTED}", id="percent-upper"),
        pytest.param(f"access+token={SECRET}", f"access+token={REDACTED}", id="plus-in-name"),
        pytest.param(f"password={SECRET}+{SECRET}", f"password={REDACTED}", id="plus-in-value"),
        pytest.param(f"token={SECRET}==", f"token={REDACTED}", id="equals-in-value"),
        pytest.param(
            f"token={SECRET}&token=x{SECRET}&token=",
            f"token={REDACTED}&token={REDACTED}&token={REDACTED}",
            id="repeated",
        ),
        pytest.param(f"a=1&&secret={SECRET}&", f"a=1&&secret={REDACTED}&", id="empty-pairs"),
        pytest.param(f"token&x={SECRET}x", f"token&x={SECRET}x", id="secret-name-without-value"),
        pytest.param(f"password&password={SECRET}", f"password&password={REDACTED}", id="no-eq"),
        pytest.param(f"q=%C3%A9&token=%C3%A9{SECRET}", f"q=%C3%A9&token={REDACTED}", id="utf8"),
    ],
)
def test_query_forms_are_redacted(
    line_client: FlaskClient, read_log: t.Any, sent: str, logged: str
) -> None:
    request(line_client, f"/?{sent}")
    (line,) = read_log()
    assert line == f'"GET /?{logged} HTTP/1.1" ?{logged} "-"'


@pytest.mark.parametrize(
    "query",
    [
        "q=hello+world&page=2&sort=-name",
        "x=%2F%20%26%3D&y=a%2Bb",
        "flag&empty=&=nameless",
        "user=alice&user=bob",
        "q=%C3%A9t%C3%A9",
        "word=2&passage=3&compass=4&keyboard=5",  # 0.1 kept "pass" too; now it is secret
    ],
)
def test_other_params_are_kept_exactly(
    line_client: FlaskClient, read_log: t.Any, query: str
) -> None:
    request(line_client, f"/?{query}")
    (line,) = read_log()
    assert line == f'"GET /?{query} HTTP/1.1" ?{query} "-"'


def test_json_query_is_redacted(json_client: FlaskClient, read_log: t.Any) -> None:
    request(json_client, f"/?user=alice&pass%77ord={SECRET}&token={SECRET}&token={SECRET}")
    record = json.loads(only_line(read_log))
    assert record["query"] == f"user=alice&pass%77ord={REDACTED}&token={REDACTED}&token={REDACTED}"


def test_json_keeps_other_params(json_client: FlaskClient, read_log: t.Any) -> None:
    request(json_client, "/?q=hello+world&page=2")
    assert json.loads(only_line(read_log))["query"] == "q=hello+world&page=2"


# The Referer


@pytest.mark.parametrize(
    ("referer", "logged"),
    [
        (
            f"https://example.com/login?next=%2F&token={SECRET}#top",
            f"https://example.com/login?next=%2F&token={REDACTED}#top",
        ),
        (
            f"https://example.com/?pass%77ord={SECRET}&api_key={SECRET}",
            f"https://example.com/?pass%77ord={REDACTED}&api_key={REDACTED}",
        ),
        ("https://example.com/page?q=shoes&page=2", "https://example.com/page?q=shoes&page=2"),
        ("https://example.com/page", "https://example.com/page"),
        ("https://example.com/#/route?x=1", "https://example.com/#/route?x=1"),
    ],
)
def test_referer_query_is_redacted(
    app: Flask, reqlog: RequestLog, read_log: t.Any, referer: str, logged: str
) -> None:
    client = start(app, reqlog, format='"%{Referer}i" %{referer}i')
    request(client, "/", headers={"Referer": referer})
    assert only_line(read_log) == f'"{logged}" {logged}'


def test_combined_format_redacts_referer_and_request_line(
    client: FlaskClient, read_log: t.Any
) -> None:
    referer = f"https://example.com/reset?token={SECRET}"
    request(client, f"/?password={SECRET}", headers={"Referer": referer})
    line = only_line(read_log)
    assert f'"GET /?password={REDACTED} HTTP/1.1"' in line
    assert f'"https://example.com/reset?token={REDACTED}"' in line


def test_json_referer_is_redacted(json_client: FlaskClient, read_log: t.Any) -> None:
    request(json_client, "/", headers={"Referer": f"https://example.com/?secret={SECRET}&a=b"})
    record = json.loads(only_line(read_log))
    assert record["referer"] == f"https://example.com/?secret={REDACTED}&a=b"


# Headers


@pytest.mark.parametrize(
    "header",
    [
        "Authorization",
        "authorization",
        "Proxy-Authorization",
        "X-Auth-Token",
        "X-Session-Id",
        "X-Hub-Signature",
    ],
)
def test_secret_request_header_is_redacted(
    app: Flask, reqlog: RequestLog, read_log: t.Any, header: str
) -> None:
    client = start(app, reqlog, format=f'"%{{{header}}}i" %{{User-Agent}}i')
    request(client, "/", headers={header: f"Bearer {SECRET}", "User-Agent": "curl/8"})
    request(client, "/", headers={"User-Agent": "curl/8"})
    assert read_log() == [f'"{REDACTED}" curl/8', '"-" curl/8']


def test_cookie_header_is_redacted(app: Flask, reqlog: RequestLog, read_log: t.Any) -> None:
    client = start(app, reqlog, format="%{Cookie}i")
    client.set_cookie("session", SECRET)
    request(client, "/")
    client.delete_cookie("session")
    request(client, "/")
    assert read_log() == [REDACTED, "-"]


def test_secret_response_header_is_redacted(
    app: Flask, reqlog: RequestLog, read_log: t.Any
) -> None:
    @app.get("/login")
    def login() -> tuple[str, dict[str, str]]:
        return "ok", {"Set-Cookie": f"session={SECRET}", "X-Kept": "visible"}

    client = start(app, reqlog, format="%{Set-Cookie}o %{X-Kept}o")
    request(client, "/login")
    assert only_line(read_log) == f"{REDACTED} visible"


def test_hyphenated_api_key_is_redacted(app: Flask, reqlog: RequestLog, read_log: t.Any) -> None:
    client = start(app, reqlog, format="%q %{X-API-Key}i")
    request(client, f"/?api-key={SECRET}", headers={"X-API-Key": SECRET})
    assert only_line(read_log) == f"?api-key={REDACTED} {REDACTED}"


# REQLOG_REDACT


def test_redact_adds_names_case_insensitively(
    app: Flask, reqlog: RequestLog, read_log: t.Any
) -> None:
    app.config["REQLOG_REDACT"] = ["SSN", "x-internal-key"]
    client = start(app, reqlog, format="%q %{X-Internal-Key}i %{x-other}i")
    request(
        client,
        f"/?ssn={SECRET}&SSN={SECRET}&my_ssn={SECRET}&password={SECRET}&keep=1",
        headers={"X-INTERNAL-KEY": SECRET, "X-Other": "seen"},
    )
    query = f"?ssn={REDACTED}&SSN={REDACTED}&my_ssn={REDACTED}&password={REDACTED}&keep=1"
    assert only_line(read_log) == f"{query} {REDACTED} seen"


def test_redact_applies_to_json_and_referer(
    app: Flask, reqlog: RequestLog, read_log: t.Any
) -> None:
    client = start(app, reqlog, format="json", redact=["Pin"])
    request(client, f"/?PIN={SECRET}&a=1", headers={"Referer": f"https://x.test/?pin={SECRET}"})
    record = json.loads(only_line(read_log))
    assert record["query"] == f"PIN={REDACTED}&a=1"
    assert record["referer"] == f"https://x.test/?pin={REDACTED}"


@pytest.mark.parametrize("log_format", ["common", "combined", "json", LINE])
def test_secret_is_nowhere_in_the_file(
    app: Flask, reqlog: RequestLog, read_log: t.Any, log_path: Path, log_format: str
) -> None:
    client = start(app, reqlog, format=log_format)
    target = f"/?a=1&secret={SECRET}&b=2"
    request(client, target, headers={"Referer": f"https://x.test{target}"})
    only_line(read_log)
    assert SECRET not in log_path.read_text("utf-8")


@pytest.mark.parametrize("name", ["pass_word", "api-key", "Api_Key", "ACCESS-TOKEN", "x-apikey"])
def test_names_match_ignoring_case_hyphens_and_underscores(
    line_client: FlaskClient, read_log: t.Any, name: str
) -> None:
    request(line_client, f"/?{name}={SECRET}&page=1")
    (line,) = read_log()
    assert SECRET not in line
    assert f"{name}={REDACTED}&page=1" in line
