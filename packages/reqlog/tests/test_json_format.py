"""REQLOG_FORMAT="json": one valid JSON object per line, whatever the request carried."""

from __future__ import annotations

import ipaddress
import json
import re
import time
import typing as t
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from flask import Flask, Response, abort, request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from flask_plug.reqlog import REDACTED, RequestLog

FIELDS = {
    "time",
    "request_id",
    "remote_addr",
    "user",
    "method",
    "path",
    "query",
    "protocol",
    "status",
    "bytes",
    "duration_ms",
    "referer",
    "user_agent",
}
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
HEX32 = re.compile(r"[0-9a-f]{32}")
SAFE_ID = re.compile(r"[A-Za-z0-9+/=._:-]{1,128}")
# Query parameter names, public and secret by the default list.
PUBLIC_NAMES = ["page", "q", "passage", "tok", "user"]
SECRET_NAMES = ["password", "Token", "access_token", "API_KEY", "sessionid", "pass%77ord"]


def wire(raw: bytes) -> str:
    """A WSGI string: the bytes a client sent, one Latin-1 character per byte."""
    return raw.decode("latin-1")


def text_of(raw: bytes) -> str:
    """What the JSON format promises for bytes: UTF-8 text, other bytes as ``\\xhh``."""
    return raw.decode("utf-8", "backslashreplace")


def is_secret(name: str) -> bool:
    return name in SECRET_NAMES


class Sent(t.NamedTuple):
    method: str
    segments: list[str]
    query: list[tuple[str, str]]
    remote_addr: str
    agent: bytes | None
    referer_path: bytes | None
    referer_query: list[tuple[str, str]]
    request_id: bytes | None
    user: bytes | None

    def url(self) -> str:
        path = "/p/" + "/".join(quote(segment.encode(), safe="") for segment in self.segments)
        return path + (f"?{query_string(self.query)}" if self.query else "")

    def referer(self) -> bytes | None:
        if self.referer_path is None:
            return None
        query = query_string(self.referer_query).encode()
        return b"https://ref.example/" + self.referer_path + (b"?" + query if query else b"")

    def headers(self) -> dict[str, str]:
        headers = {
            "User-Agent": self.agent,
            "Referer": self.referer(),
            "X-Request-ID": self.request_id,
            "X-Test-User": self.user,
        }
        return {name: wire(value) for name, value in headers.items() if value is not None}


def query_string(pairs: list[tuple[str, str]], *, redact: bool = False) -> str:
    return "&".join(
        f"{name}={REDACTED if redact and is_secret(name) else value}" for name, value in pairs
    )


# Only secret values hold the SECRET mark, which Hypothesis would otherwise draw too (it
# draws the constants of the test module), so free text and bytes never hold it.
header_bytes = st.binary(max_size=120).filter(
    lambda raw: b"\r" not in raw and b"\n" not in raw and b"SECRET" not in raw
)
query_values = st.one_of(
    st.binary(max_size=20).map(lambda raw: quote(raw, safe="")),
    st.text(alphabet="abc\"\\'<>{}|^`", max_size=8),
)
# Secret values are marked, so a test can tell that none is left in a line.
secret_values = query_values.map(lambda value: "SECRET" + value)
query_pairs = st.lists(
    st.tuples(st.sampled_from(PUBLIC_NAMES), query_values)
    | st.tuples(st.sampled_from(SECRET_NAMES), secret_values),
    max_size=4,
)
sent_requests = st.builds(
    Sent,
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    segments=st.lists(
        st.text(min_size=1, max_size=10).filter(lambda text: "SECRET" not in text),
        min_size=1,
        max_size=3,
    ),
    query=query_pairs,
    remote_addr=st.ip_addresses().map(str),
    agent=st.none() | header_bytes,
    referer_path=st.none() | header_bytes.map(lambda raw: raw.translate(None, b"?#&=")),
    referer_query=query_pairs,
    request_id=st.none() | st.from_regex(SAFE_ID, fullmatch=True).map(str.encode) | header_bytes,
    user=st.none() | header_bytes,
)


@pytest.fixture
def json_app(app: Flask, reqlog: RequestLog) -> Flask:
    app.config["REQLOG_FORMAT"] = "json"

    @app.route("/p/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
    def anything(rest: str) -> Response:
        user = request.environ.get("HTTP_X_TEST_USER")
        if user is not None:
            request.environ["REMOTE_USER"] = user  # as an auth extension would
        status = int(request.environ.get("HTTP_X_TEST_STATUS", "200"))
        if status >= 400:
            abort(status)
        return Response(b"x" * len(rest), status=status, headers={"X-Handled": "yes"})

    @app.get("/empty")
    def empty() -> str:
        return ""

    return app


class Fetch(t.Protocol):
    def __call__(
        self, path: str, **kwargs: t.Any
    ) -> tuple[TestResponse, dict[str, t.Any], str]: ...


@pytest.fixture
def fetch(json_app: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]) -> Fetch:
    """One request; its response, its JSON record, and the raw line."""
    if "flask-plug-reqlog" not in json_app.extensions:
        reqlog.init_app(json_app)

    def one(path: str, **kwargs: t.Any) -> tuple[TestResponse, dict[str, t.Any], str]:
        before = len(read_log())
        response = json_app.test_client().open(path, **kwargs)
        with response:
            response.get_data()
        lines = read_log()
        assert len(lines) == before + 1
        return response, json.loads(lines[-1]), lines[-1]

    return one


def check_record(
    record: dict[str, t.Any], line: str, response: TestResponse, before: float, after: float
) -> None:
    """What holds for every record, whatever the request."""
    assert set(record) == FIELDS
    assert line.isascii()
    assert "\n" not in line
    assert TIME.fullmatch(record["time"]), record["time"]
    stamp = datetime.fromisoformat(record["time"][:-1] + "+00:00").timestamp()
    assert before - 0.001 <= stamp <= after + 0.001
    assert record["request_id"] == response.headers["X-Request-ID"]
    assert record["protocol"] == "HTTP/1.1"
    assert record["status"] == response.status_code
    assert type(record["status"]) is int
    assert record["bytes"] == len(response.get_data())
    assert type(record["bytes"]) is int
    assert type(record["duration_ms"]) is float
    assert 0 <= record["duration_ms"] < 10_000
    assert round(record["duration_ms"], 3) == record["duration_ms"]
    for key in ("user", "query", "referer", "user_agent"):
        assert record[key] is None or (type(record[key]) is str and record[key])


# --- the fuzzed corpus -------------------------------------------------------------------


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(sent_requests, min_size=1, max_size=5))
def test_every_line_of_a_fuzzed_corpus_is_json_with_the_request_values(
    json_app: Flask, reqlog: RequestLog, log_path: Path, batch: list[Sent]
) -> None:
    if "flask-plug-reqlog" not in json_app.extensions:
        reqlog.init_app(json_app)
    client = json_app.test_client()
    client.environ_base.pop("HTTP_USER_AGENT")  # Flask's client sends one by default
    assert reqlog.flush(json_app, timeout=10)
    skip = len(log_path.read_text("utf-8").splitlines()) if log_path.exists() else 0
    responses = []
    for sent in batch:
        before = time.time()
        response = client.open(
            sent.url(),
            method=sent.method,
            headers=sent.headers(),
            environ_base={"REMOTE_ADDR": sent.remote_addr},
        )
        with response:
            response.get_data()
        responses.append((response, before, time.time()))
    assert reqlog.flush(json_app, timeout=10)
    lines = log_path.read_text("utf-8").splitlines()[skip:]
    assert len(lines) == len(batch)

    for line, sent, (response, before, after) in zip(lines, batch, responses, strict=True):
        record = json.loads(line)
        check_record(record, line, response, before, after)
        assert "SECRET" not in line
        assert record["method"] == sent.method
        assert record["path"] == "/p/" + "/".join(sent.segments)
        assert record["query"] == (query_string(sent.query, redact=True) or None)
        assert ipaddress.ip_address(record["remote_addr"]) == ipaddress.ip_address(sent.remote_addr)
        assert record["user_agent"] == (text_of(sent.agent) if sent.agent else None)
        # Only the view sets the user: not when routing failed (a segment with a newline).
        handled = "X-Handled" in response.headers
        assert record["user"] == (text_of(sent.user) if sent.user and handled else None)
        referer = sent.referer()
        if referer is None:
            assert record["referer"] is None
        else:
            assert sent.referer_path is not None
            query = query_string(sent.referer_query, redact=True).encode()
            expected = (
                b"https://ref.example/" + sent.referer_path + (b"?" + query if query else b"")
            )
            assert record["referer"] == text_of(expected)
        incoming = sent.request_id
        if incoming is not None and SAFE_ID.fullmatch(wire(incoming)):
            assert record["request_id"] == wire(incoming)
        else:
            assert HEX32.fullmatch(record["request_id"])


# --- single requests ---------------------------------------------------------------------


def test_plain_request_has_every_field_and_nulls_for_missing_values(fetch: Fetch) -> None:
    before = time.time()
    response, record, line = fetch("/p/notes", headers={"User-Agent": ""})
    check_record(record, line, response, before, time.time())
    assert record == {
        "time": record["time"],
        "request_id": response.headers["X-Request-ID"],
        "remote_addr": "127.0.0.1",
        "user": None,
        "method": "GET",
        "path": "/p/notes",
        "query": None,
        "protocol": "HTTP/1.1",
        "status": 200,
        "bytes": 5,
        "duration_ms": record["duration_ms"],
        "referer": None,
        "user_agent": None,
    }


def test_empty_body_is_zero_bytes(fetch: Fetch) -> None:
    _, record, _ = fetch("/empty")
    assert record["bytes"] == 0


@pytest.mark.parametrize(("status", "expected"), [("201", 201), ("404", 404), ("503", 503)])
def test_status_is_a_number(fetch: Fetch, status: str, expected: int) -> None:
    _, record, _ = fetch("/p/x", headers={"X-Test-Status": status})
    assert record["status"] == expected


def test_unhandled_error_is_status_500(fetch: Fetch) -> None:
    _, record, _ = fetch("/boom")
    assert record["status"] == 500


def test_utf8_text_is_json_text_escaped_as_ascii(fetch: Fetch) -> None:
    agent = wire("Zoë 日本 😀".encode())
    _, record, line = fetch("/p/caf%C3%A9", headers={"User-Agent": agent, "X-Test-User": agent})
    assert record["user_agent"] == record["user"] == "Zoë 日本 😀"
    assert record["path"] == "/p/café"
    assert "\\u00eb" in line and "\\ud83d\\ude00" in line
    assert line.isascii()


def test_invalid_utf8_bytes_become_backslash_x(fetch: Fetch) -> None:
    agent = wire(b"ok \xff\xfe \xc3( \xed\xa0\x80 \x80")
    _, record, line = fetch("/p/x", headers={"User-Agent": agent})
    assert record["user_agent"] == "ok \\xff\\xfe \\xc3( \\xed\\xa0\\x80 \\x80"
    assert line.isascii()


def test_invalid_utf8_in_the_path_as_gunicorn_passes_it(fetch: Fetch) -> None:
    # gunicorn percent-decodes /%FF%C3%A9 into PATH_INFO as the bytes, one Latin-1 char each.
    _, record, line = fetch("/p/x", environ_overrides={"PATH_INFO": wire(b"/p/\xff\xc3\xa9")})
    assert record["path"] == "/p/\\xffé"
    assert line.isascii()


def test_control_characters_and_quotes_stay_valid_json(fetch: Fetch) -> None:
    agent = wire(b'a"b\\c\x00\x01\t\x1b[0m\x7f')
    _, record, _ = fetch("/p/x", headers={"User-Agent": agent})
    assert record["user_agent"] == 'a"b\\c\x00\x01\t\x1b[0m\x7f'


def test_secrets_are_redacted_in_query_and_referer(fetch: Fetch) -> None:
    referer = "https://app.example/cb?code=1&access_token=ey.J0&state=s#frag"
    _, record, line = fetch(
        "/p/x?page=2&password=hunter2&Token=tkn-qq&q=a%20b",
        headers={"Referer": referer, "Authorization": "Bearer zzz", "Cookie": "session=yyy"},
    )
    assert record["query"] == "page=2&password=REDACTED&Token=REDACTED&q=a%20b"
    referer = "https://app.example/cb?code=REDACTED&access_token=REDACTED&state=s#frag"
    assert record["referer"] == referer
    for secret in ("hunter2", "tkn-qq", "ey.J0", "zzz", "yyy"):
        assert secret not in line


def test_redact_config_applies_to_json(
    json_app: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    json_app.config["REQLOG_REDACT"] = ["page"]
    reqlog.init_app(json_app)
    referer = "https://app.example/list?page=3"
    with json_app.test_client().get("/p/x?page=2&q=1", headers={"Referer": referer}) as response:
        response.get_data()
    (line,) = read_log()
    record = json.loads(line)
    assert record["query"] == "page=REDACTED&q=1"
    assert record["referer"] == "https://app.example/list?page=REDACTED"


def test_remote_user_set_by_the_view_is_the_user(fetch: Fetch) -> None:
    _, record, _ = fetch("/p/x", headers={"X-Test-User": "alice"})
    assert record["user"] == "alice"


def test_incoming_safe_request_id_is_kept(fetch: Fetch) -> None:
    response, record, _ = fetch("/p/x", headers={"X-Request-ID": "4bf92f35-77b3_4da6.a3ce"})
    assert record["request_id"] == "4bf92f35-77b3_4da6.a3ce" == response.headers["X-Request-ID"]


def test_time_is_utc_with_milliseconds(fetch: Fetch) -> None:
    before = time.time()
    _, record, _ = fetch("/p/x")
    after = time.time()
    assert record["time"].endswith("Z")
    stamp = datetime.fromisoformat(record["time"][:-1] + "+00:00").timestamp()
    assert int(before * 1000) / 1000 - 0.001 <= stamp <= after


def test_duration_covers_the_view(json_app: Flask, fetch: Fetch) -> None:
    @json_app.get("/slow")
    def slow() -> str:
        time.sleep(0.05)
        return "slow"

    _, record, _ = fetch("/slow")
    assert 50 <= record["duration_ms"] < 5000


def test_non_ascii_method_is_utf8_text_like_other_fields(fetch: Fetch) -> None:
    _, record, _ = fetch("/p/x", method=wire(b"G\xc3\x89T\xff"))
    assert record["status"] == 405
    assert record["method"] == "GÉT\\xff"
