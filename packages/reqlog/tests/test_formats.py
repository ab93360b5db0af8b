"""Every format atom, the named formats, format errors, escaping and redaction, as a user
sees them in the log file after real requests through Flask's test client."""

from __future__ import annotations

import os
import re
import time
import typing as t
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask, Response, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from flask_plug.reqlog import COMBINED, COMMON, DEFAULT_REDACT, REDACTED, RequestLog
from flask_plug.reqlog.escaping import escape

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
HEX32 = re.compile(r"[0-9a-f]{32}")


class LogLine(t.Protocol):
    def __call__(
        self,
        fmt: str | None,
        path: str = "/echo",
        *,
        cookies: dict[str, str] | None = None,
        **request: t.Any,
    ) -> tuple[TestResponse, str]: ...


def wire(raw: bytes) -> str:
    """A WSGI string: the bytes a client sent, one Latin-1 character per byte."""
    return raw.decode("latin-1")


def unescape(text: str) -> bytes:
    """The bytes behind an Apache-escaped value; refuses anything escape() cannot make."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        assert 0x20 <= ord(char) < 0x7F, f"unprintable {char!r} at {index} in {text!r}"
        assert char != '"', f"bare quote at {index} in {text!r}"
        if char != "\\":
            out.append(ord(char))
            index += 1
            continue
        follower = text[index + 1 : index + 2]
        if follower in ('"', "\\"):
            out.append(ord(follower))
            index += 2
        elif follower == "x" and re.fullmatch(r"[0-9a-f]{2}", text[index + 2 : index + 4]):
            out.append(int(text[index + 2 : index + 4], 16))
            index += 4
        else:
            raise AssertionError(f"bad escape at {index} in {text!r}")
    return bytes(out)


def clf_stamp(second: int) -> str:
    """``[dd/Mon/yyyy:HH:MM:SS +zzzz]`` in local time, built without strftime."""
    moment = datetime.fromtimestamp(second).astimezone()
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return (
        f"[{moment.day:02d}/{MONTHS[moment.month - 1]}/{moment.year:04d}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {sign}{hours:02d}{minutes:02d}]"
    )


@pytest.fixture
def routes(app: Flask) -> Flask:
    """The conftest app plus views that exercise each part of a log line."""

    @app.route("/echo", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def echo() -> str:
        return "echo"

    @app.get("/empty")
    def empty() -> str:
        return ""

    @app.get("/no-content")
    def no_content() -> tuple[str, int]:
        return "", 204

    @app.get("/slow")
    def slow() -> str:
        time.sleep(0.05)
        return "slow"

    @app.get("/as/<name>")
    def as_user(name: str) -> str:
        # What flask-plug-auth does: REMOTE_USER as a WSGI string.
        request.environ["REMOTE_USER"] = name.encode().decode("latin-1")
        return "hello"

    @app.get("/cookie")
    def cookie() -> Response:
        response = Response("cookie")
        response.set_cookie("sid", "s3cr3t-session-value", httponly=True)
        response.headers.add("X-Multi", "one")
        response.headers.add("X-Multi", "two")
        return response

    @app.get("/path/<path:rest>")
    def any_path(rest: str) -> str:
        return rest

    return app


@pytest.fixture
def log_line(routes: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]) -> LogLine:
    """Register the log with ``fmt`` (``None``: the default), make one request, and return
    the response with the one new line of the log."""

    def one(
        fmt: str | None,
        path: str = "/echo",
        *,
        cookies: dict[str, str] | None = None,
        **kwargs: t.Any,
    ) -> tuple[TestResponse, str]:
        if "flask-plug-reqlog" not in routes.extensions:
            options = {} if fmt is None else {"format": fmt}
            reqlog.init_app(routes, **options)  # type: ignore[arg-type]
        before = len(read_log())
        client: FlaskClient = routes.test_client()
        # The test client sends its cookie jar as the Cookie header, and drops any other.
        for name, value in (cookies or {}).items():
            client.set_cookie(name, value)
        response = client.open(path, **kwargs)
        with response:
            response.get_data()
        lines = read_log()
        assert len(lines) == before + 1, lines
        return response, lines[-1]

    return one


# --- atoms ---------------------------------------------------------------------------------


def test_h_is_the_client_address(log_line: LogLine) -> None:
    assert log_line("%h")[1] == "127.0.0.1"
    assert log_line("%h", environ_base={"REMOTE_ADDR": "203.0.113.7"})[1] == "203.0.113.7"


def test_l_is_always_a_dash(log_line: LogLine) -> None:
    assert log_line("%l", headers={"X-Ident": "someone"})[1] == "-"


def test_u_is_a_dash_without_a_user(log_line: LogLine) -> None:
    assert log_line("%u")[1] == "-"


def test_u_is_the_remote_user_a_view_sets(log_line: LogLine) -> None:
    assert log_line("%u", "/as/alice")[1] == "alice"


def test_u_escapes_quotes_and_non_ascii_of_the_user(log_line: LogLine) -> None:
    assert log_line("%u", '/as/a"b\\zoë')[1] == r"a\"b\\zo\xc3\xab"


def test_t_is_the_arrival_time_in_clf_with_english_month(log_line: LogLine) -> None:
    before = time.time()
    _, line = log_line("%t")
    after = time.time()
    assert re.fullmatch(
        rf"\[\d\d/(?:{'|'.join(MONTHS)})/\d{{4}}:\d\d:\d\d:\d\d [+-]\d{{4}}\]", line
    ), line
    assert line in {clf_stamp(second) for second in range(int(before), int(after) + 1)}


def test_r_is_the_request_line_as_sent(log_line: LogLine) -> None:
    assert log_line("%r", "/echo?a=1&b=%22x%22")[1] == "GET /echo?a=1&b=%22x%22 HTTP/1.1"
    assert log_line("%r", "/path/caf%C3%A9")[1] == "GET /path/caf%C3%A9 HTTP/1.1"


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH"])
def test_m_is_the_method(log_line: LogLine, method: str) -> None:
    assert log_line("%m", method=method)[1] == method


def test_U_is_the_decoded_path_without_the_query(log_line: LogLine) -> None:
    assert log_line("%U", "/path/caf%C3%A9?x=1")[1] == r"/path/caf\xc3\xa9"


def test_U_of_the_root_is_a_slash(log_line: LogLine) -> None:
    assert log_line("%U", "/")[1] == "/"


def test_q_is_the_query_with_its_question_mark(log_line: LogLine) -> None:
    assert log_line("%q", "/echo?page=2&sort=-date")[1] == "?page=2&sort=-date"


def test_q_is_empty_without_a_query(log_line: LogLine) -> None:
    assert log_line("[%q]")[1] == "[]"


def test_H_is_the_protocol(log_line: LogLine) -> None:
    assert log_line("%H")[1] == "HTTP/1.1"
    assert log_line("%H", environ_overrides={"SERVER_PROTOCOL": "HTTP/1.0"})[1] == "HTTP/1.0"


@pytest.mark.parametrize(
    ("path", "status"),
    [("/echo", "200"), ("/no-content", "204"), ("/missing", "404"), ("/forbidden", "403")],
)
def test_s_and_final_s_are_the_status_code(log_line: LogLine, path: str, status: str) -> None:
    response, line = log_line("%s %>s", path)
    assert line == f"{status} {status}"
    assert response.status_code == int(status)


def test_s_of_an_unhandled_error_is_500(log_line: LogLine) -> None:
    assert log_line("%>s", "/boom")[1] == "500"


def test_b_and_B_are_the_body_bytes_sent(log_line: LogLine) -> None:
    response, line = log_line("%b %B", "/stream")
    assert line == "10000 10000"
    assert len(response.data) == 10000


@pytest.mark.parametrize("path", ["/empty", "/no-content"])
def test_b_is_a_dash_and_B_is_zero_for_an_empty_body(log_line: LogLine, path: str) -> None:
    assert log_line("%b %B", path)[1] == "- 0"


def test_B_counts_no_body_for_head(log_line: LogLine) -> None:
    response, line = log_line("%m %B", method="HEAD")
    assert response.data == b""
    assert line == "HEAD 0"


def test_duration_atoms_agree_in_every_unit(log_line: LogLine) -> None:
    _, line = log_line("%D %{us}T %{ms}T %T %{s}T", "/slow")
    match = re.fullmatch(r"(\d+) (\d+) (\d+\.\d{3}) (\d+\.\d{6}) (\d+\.\d{6})", line)
    assert match, line
    micros, us, ms, seconds, seconds_again = match.groups()
    assert micros == us
    assert seconds == seconds_again
    assert 50_000 <= int(micros) < 5_000_000  # the view sleeps 50 ms
    assert abs(float(ms) * 1000 - int(micros)) <= 1
    assert abs(float(seconds) * 1_000_000 - int(micros)) <= 1


def test_L_is_the_request_id_sent_in_the_response(log_line: LogLine) -> None:
    response, line = log_line("%L")
    assert HEX32.fullmatch(line)
    assert response.headers["X-Request-ID"] == line


def test_L_keeps_a_safe_incoming_request_id(log_line: LogLine) -> None:
    incoming = "trace-0af7651916cd43dd:8448eb211c80319c=="
    response, line = log_line("%L", headers={"X-Request-ID": incoming})
    assert line == incoming == response.headers["X-Request-ID"]


@pytest.mark.parametrize("incoming", ['a"b', "a b", "x" * 129, "é", "id\x01"])
def test_L_replaces_an_unsafe_incoming_request_id(log_line: LogLine, incoming: str) -> None:
    response, line = log_line("%L", headers={"X-Request-ID": wire(incoming.encode())})
    assert HEX32.fullmatch(line), line
    assert response.headers["X-Request-ID"] == line


def test_request_header_atom_is_the_value_or_a_dash(log_line: LogLine) -> None:
    headers = {"User-Agent": "curl/8.5", "Accept-Language": "de, en;q=0.5"}
    _, line = log_line("%{User-Agent}i|%{accept-language}i|%{X-Absent}i", headers=headers)
    assert line == "curl/8.5|de, en;q=0.5|-"


def test_request_header_atom_reads_content_type_and_length(log_line: LogLine) -> None:
    _, line = log_line(
        "%{Content-Type}i %{Content-Length}i",
        method="POST",
        data=b"12345",
        content_type="text/plain",
    )
    assert line == "text/plain 5"


def test_response_header_atom_is_the_value_or_a_dash(log_line: LogLine) -> None:
    _, line = log_line("%{Content-Type}o|%{content-length}o|%{X-Absent}o")
    assert line == "text/html; charset=utf-8|4|-"


def test_response_header_atom_joins_repeated_headers(log_line: LogLine) -> None:
    assert log_line("%{X-Multi}o", "/cookie")[1] == "one, two"


def test_response_header_atom_sees_the_request_id_header(log_line: LogLine) -> None:
    response, line = log_line("%{X-Request-ID}o")
    assert line == response.headers["X-Request-ID"]


def test_percent_percent_is_a_percent_sign(log_line: LogLine) -> None:
    assert log_line("100%% %>s")[1] == "100% 200"


def test_literal_text_is_kept_as_written(log_line: LogLine) -> None:
    fmt = 'status=[%>s] {brace} "quoted" \\back\\ tab\there éà'
    assert log_line(fmt)[1] == 'status=[200] {brace} "quoted" \\back\\ tab\there éà'


def test_adjacent_atoms_without_separator(log_line: LogLine) -> None:
    assert log_line("%m%U%q%>s", "/echo?x=1")[1] == "GET/echo?x=1200"


# --- named formats -------------------------------------------------------------------------


def test_named_formats_are_the_apache_ones() -> None:
    assert COMMON == '%h %l %u %t "%r" %>s %b'
    assert COMBINED == COMMON + ' "%{Referer}i" "%{User-Agent}i"'


def test_common_format_line(log_line: LogLine) -> None:
    before = time.time()
    _, line = log_line("common", "/as/alice?x=1")
    after = time.time()
    match = re.fullmatch(
        r'127\.0\.0\.1 - alice (\[[^]]+\]) "GET /as/alice\?x=1 HTTP/1\.1" 200 5', line
    )
    assert match, line
    assert match[1] in {clf_stamp(second) for second in range(int(before), int(after) + 1)}


@pytest.mark.parametrize("fmt", ["combined", None, COMBINED])
def test_combined_format_line_is_the_default(log_line: LogLine, fmt: str | None) -> None:
    headers = {"Referer": "https://example.com/a?b=1", "User-Agent": "Mozilla/5.0 (X11)"}
    _, line = log_line(fmt, "/empty", headers=headers)
    assert re.fullmatch(
        r'127\.0\.0\.1 - - \[[^]]+\] "GET /empty HTTP/1\.1" 200 - '
        r'"https://example\.com/a\?b=1" "Mozilla/5\.0 \(X11\)"',
        line,
    ), line


def test_combined_with_no_referer_and_an_empty_agent(log_line: LogLine) -> None:
    _, line = log_line("combined", headers={"User-Agent": ""})
    assert line.endswith('" 200 4 "-" ""'), line


@pytest.mark.parametrize(("name", "base"), [("common+id", COMMON), ("combined+id", COMBINED)])
def test_id_formats_end_with_the_request_id(
    routes: Flask,
    reqlog: RequestLog,
    read_log: t.Callable[[], list[str]],
    name: str,
    base: str,
) -> None:
    reqlog.init_app(routes, format=name)
    client = routes.test_client()
    with client.get("/echo", headers={"X-Request-ID": "req-1", "User-Agent": "t"}) as response:
        response.get_data()
    with client.get("/echo", headers={"User-Agent": "t"}) as made:
        made.get_data()
    first, second = read_log()
    assert first.endswith(" req-1")
    assert second.endswith(" " + made.headers["X-Request-ID"])
    # The rest of the line is the named format's, as if the id were not there.
    suffix = ' "-" "t"' if base == COMBINED else ""
    assert re.fullmatch(
        rf'127\.0\.0\.1 - - \[[^]]+\] "GET /echo HTTP/1\.1" 200 4{suffix} req-1', first
    )


def test_format_from_config_key(
    routes: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    routes.config["REQLOG_FORMAT"] = "%m %>s"
    reqlog.init_app(routes)
    with routes.test_client().delete("/echo") as response:
        response.get_data()
    assert read_log() == ["DELETE 200"]


def test_keyword_format_wins_over_config(
    routes: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    routes.config["REQLOG_FORMAT"] = "config %>s"
    reqlog.init_app(routes, format="keyword %>s")
    with routes.test_client().get("/echo") as response:
        response.get_data()
    assert read_log() == ["keyword 200"]


# --- format errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "named"),
    [
        ("%h %Z %>s", "'%Z'"),
        ("%h %{x}", "'%{x}'"),
        ("%h %{x} %>s", "'%{x}"),
        ("%h %", "'%'"),
        ("%>m", "'%>m'"),
        ("%{Referer}h", "'%{Referer}h'"),
        ("%{min}T", "'%{min}T'"),
        ("%{}i", "'%{}i'"),
        ("%{Referer i", "'%{'"),
        ("no atoms here", "'no atoms here'"),
        ("", "''"),
        ("100%%", "'100%%'"),
    ],
)
def test_bad_format_fails_at_init_app_naming_the_atom(
    app: Flask, reqlog: RequestLog, spec: str, named: str
) -> None:
    with pytest.raises(ValueError) as caught:
        reqlog.init_app(app, format=spec)
    message = str(caught.value)
    assert message.startswith("REQLOG_FORMAT"), message
    assert named in message, message
    assert "flask-plug-reqlog" not in app.extensions


def test_bad_format_in_config_fails_at_init_app(app: Flask, reqlog: RequestLog) -> None:
    app.config["REQLOG_FORMAT"] = '%h "%r" %Q'
    with pytest.raises(ValueError, match=r"^REQLOG_FORMAT.*'%Q'"):
        reqlog.init_app(app)


def test_bad_format_fails_at_construction_with_an_app(app: Flask) -> None:
    with pytest.raises(ValueError, match=r"^REQLOG_FORMAT.*'%{x}'"):
        RequestLog(app, format="%{x}")


def test_e_is_a_wsgi_environ_value(log_line: LogLine) -> None:
    response, line = log_line(
        "%{REMOTE_PORT}e|%{wsgi.url_scheme}e|%{HTTP_X_TENANT}e|%{http_x_tenant}e|%{NOPE}e",
        headers={"X-Tenant": 'ac"me'},
        environ_base={"REMOTE_PORT": "50123"},
    )
    assert line == r"50123|http|ac\"me|ac\"me|-"


def test_e_redacts_secret_headers(log_line: LogLine) -> None:
    _, line = log_line(
        "%{HTTP_AUTHORIZATION}e %{HTTP_X_API_KEY}e %{HTTP_COOKIE}e %{HTTP_X_SECRET}e",
        headers={"Authorization": "Bearer abc", "X-API-Key": "k"},
        cookies={"sid": "s"},
    )
    assert line == "REDACTED REDACTED REDACTED -"


def test_P_is_the_process_id(log_line: LogLine) -> None:
    assert log_line("%P")[1] == str(os.getpid())


def test_unknown_atom_error_lists_the_known_atoms(app: Flask, reqlog: RequestLog) -> None:
    with pytest.raises(ValueError) as caught:
        reqlog.init_app(app, format="%Z")
    for atom in ("%h", "%r", "%s", "%T", "%L", "%P", "%e", "%i", "%n", "%o", "%%"):
        assert atom in str(caught.value)


@pytest.mark.parametrize("spec", [42, b"%h", ["%h"]])
def test_format_that_is_not_a_string_fails(app: Flask, reqlog: RequestLog, spec: object) -> None:
    with pytest.raises(ValueError, match=r"^REQLOG_FORMAT"):
        reqlog.init_app(app, format=spec)  # type: ignore[arg-type]


# --- escaping ------------------------------------------------------------------------------


def test_quote_and_backslash_get_a_backslash(log_line: LogLine) -> None:
    _, line = log_line('"%{User-Agent}i"', headers={"User-Agent": 'say "hi" C:\\dir\\'})
    assert line == r'"say \"hi\" C:\\dir\\"'


def test_control_bytes_and_delete_become_hex(log_line: LogLine) -> None:
    agent = wire(b"a\x00b\x01c\td\x1be\x7ff\x1f")
    assert log_line("%{User-Agent}i", headers={"User-Agent": agent})[1] == (
        r"a\x00b\x01c\x09d\x1be\x7ff\x1f"
    )


def test_utf8_text_is_logged_as_its_bytes(log_line: LogLine) -> None:
    agent = wire("naïve 日本".encode())
    assert log_line("%{User-Agent}i", headers={"User-Agent": agent})[1] == (
        r"na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac"
    )


def test_invalid_utf8_bytes_are_logged_as_they_came(log_line: LogLine) -> None:
    agent = wire(b"\xff\xfe\xc3(\x80")
    assert log_line("%{User-Agent}i", headers={"User-Agent": agent})[1] == r"\xff\xfe\xc3(\x80"


def test_request_line_escapes_quotes_in_the_target(log_line: LogLine) -> None:
    _, line = log_line('"%r"', '/path/a"b\\c')
    assert line == r'"GET /path/a\"b\\c HTTP/1.1"'


def test_escape_maps_every_byte() -> None:
    for code in range(256):
        escaped = escape(chr(code))
        if code == 0x22:
            assert escaped == '\\"'
        elif code == 0x5C:
            assert escaped == "\\\\"
        elif 0x20 <= code < 0x7F:
            assert escaped == chr(code)
        else:
            assert escaped == f"\\x{code:02x}"


def test_escape_of_text_beyond_latin1_uses_utf8_for_the_whole_value() -> None:
    assert escape("é€") == r"\xc3\xa9\xe2\x82\xac"


@given(st.binary(max_size=300))
def test_escape_of_wsgi_bytes_is_printable_ascii_and_reverses(raw: bytes) -> None:
    escaped = escape(wire(raw))
    assert all(0x20 <= ord(char) < 0x7F for char in escaped)
    assert unescape(escaped) == raw


@given(st.text(max_size=200))
def test_escape_of_any_text_is_printable_ascii_and_reverses(text: str) -> None:
    escaped = escape(text)
    assert all(0x20 <= ord(char) < 0x7F for char in escaped)
    expected = text.encode("latin-1") if all(ord(c) < 0x100 for c in text) else text.encode()
    assert unescape(escaped) == expected


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(agent=st.binary(max_size=200).filter(lambda raw: b"\r" not in raw and b"\n" not in raw))
def test_any_header_bytes_reach_the_line_escaped_and_recoverable(
    log_line: LogLine, agent: bytes
) -> None:
    _, line = log_line('"%{User-Agent}i" %>s', headers={"User-Agent": wire(agent)})
    match = re.fullmatch(r'"((?:[^"\\]|\\.)*)" 200', line)
    assert match, line
    assert unescape(match[1]) == agent


# --- redaction -----------------------------------------------------------------------------


def test_secret_query_values_are_redacted_in_r_and_q(log_line: LogLine) -> None:
    path = "/echo?page=2&password=hunter2&sort=name&token=abc"
    _, line = log_line('"%r" %q', path)
    assert line == (
        '"GET /echo?page=2&password=REDACTED&sort=name&token=REDACTED HTTP/1.1" '
        "?page=2&password=REDACTED&sort=name&token=REDACTED"
    )


@pytest.mark.parametrize("fragment", DEFAULT_REDACT)
def test_query_names_holding_a_default_fragment_are_redacted(
    log_line: LogLine, fragment: str
) -> None:
    name = f"My_{fragment.upper()}_x"
    _, line = log_line("%r %q", f"/echo?{name}=v4lue&keep=1")
    assert "v4lue" not in line
    assert line.count(f"{name}={REDACTED}") == 2
    assert line.count("keep=1") == 2


def test_redaction_reads_percent_encoded_names(log_line: LogLine) -> None:
    _, line = log_line("%q", "/echo?pass%77ord=hunter2&t%6Fken=abc")
    assert line == f"?pass%77ord={REDACTED}&t%6Fken={REDACTED}"


def test_every_repeated_secret_parameter_is_redacted(log_line: LogLine) -> None:
    _, line = log_line("%q", "/echo?token=a&token=b&x=token")
    assert line == f"?token={REDACTED}&token={REDACTED}&x=token"


def test_public_parameters_and_valueless_names_are_kept(log_line: LogLine) -> None:
    _, line = log_line("%q", "/echo?page=2&passage=x&token")
    assert line == "?page=2&passage=x&token"


def test_referer_query_is_redacted(log_line: LogLine) -> None:
    referer = "https://app.example/cb?code=1&access_token=ey.J0&state=s#frag"
    _, line = log_line("combined", headers={"Referer": referer})
    # OAuth's code is a secret too (kept in 0.1)
    assert '"https://app.example/cb?code=REDACTED&access_token=REDACTED&state=s#frag"' in line
    assert "ey.J0" not in line


def test_referer_without_query_is_kept(log_line: LogLine) -> None:
    referer = "https://app.example/page"
    assert log_line("%{Referer}i", headers={"Referer": referer})[1] == referer


@pytest.mark.parametrize(
    "header", ["Authorization", "Proxy-Authorization", "X-Session-Token", "X-Hub-Signature"]
)
def test_secret_request_headers_show_redacted(log_line: LogLine, header: str) -> None:
    _, line = log_line(f"%{{{header}}}i", headers={header: "Bearer s3cr3t"})
    assert line == REDACTED


def test_cookie_request_header_shows_redacted(log_line: LogLine) -> None:
    _, line = log_line("%{Cookie}i", cookies={"session": "s3cr3t", "theme": "dark"})
    assert line == REDACTED


def test_absent_secret_request_header_is_a_dash(log_line: LogLine) -> None:
    assert log_line("%{Authorization}i %{Cookie}i")[1] == "- -"


def test_set_cookie_response_header_shows_redacted(log_line: LogLine) -> None:
    assert log_line("%{Set-Cookie}o", "/cookie")[1] == REDACTED
    assert log_line("%{Set-Cookie}o", "/echo")[1] == "-"


def test_redact_config_adds_names_to_the_default_ones(
    routes: Flask, reqlog: RequestLog, read_log: t.Callable[[], list[str]]
) -> None:
    routes.config["REQLOG_REDACT"] = ["Page", "X-Tenant"]
    reqlog.init_app(routes, format="%q %{X-Tenant}i %{Authorization}i")
    headers = {"X-Tenant": "acme", "Authorization": "Basic eA=="}
    with routes.test_client().get("/echo?PAGE=2&token=t&q=x", headers=headers) as response:
        response.get_data()
    assert read_log() == [f"?PAGE={REDACTED}&token={REDACTED}&q=x {REDACTED} {REDACTED}"]


def test_redact_keyword_adds_names(log_line: LogLine, routes: Flask, reqlog: RequestLog) -> None:
    reqlog.init_app(routes, format="%q", redact=["uid"])
    assert log_line(None, "/echo?uid=7&page=1")[1] == f"?uid={REDACTED}&page=1"


@pytest.mark.parametrize("value", ["page", [1], [""]])
def test_redact_must_be_a_list_of_names(app: Flask, reqlog: RequestLog, value: object) -> None:
    with pytest.raises(ValueError, match=r"^REQLOG_REDACT must be a list of strings"):
        reqlog.init_app(app, redact=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("header", ["X-API-Key", "X-Api-Key", "Api-Key", "X-Apikey"])
def test_api_key_headers_are_redacted_however_spelled(log_line: LogLine, header: str) -> None:
    _, line = log_line(f"%{{{header}}}i", headers={header: "k3y-v4lue"})
    assert line == REDACTED


@pytest.mark.parametrize("name", ["api-key", "api_key", "apiKey", "X-API-KEY"])
def test_api_key_parameters_are_redacted_however_spelled(log_line: LogLine, name: str) -> None:
    _, line = log_line("%q", f"/echo?{name}=k3y-v4lue&page=1")
    assert line == f"?{name}={REDACTED}&page=1"


def test_log_file_lines_are_ascii(log_line: LogLine, log_path: Path) -> None:
    log_line("combined", "/path/caf%C3%A9", headers={"User-Agent": wire("ü\x00".encode())})
    assert log_path.read_bytes().isascii()
