"""goaccess reads every line the Combined format writes, however hostile the request.

A live werkzeug server gets raw HTTP/1.1 requests over sockets, so header and target bytes
are whatever the corpus says; goaccess (the Debian package) then parses the log.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import typing as t
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask, Response, abort, request

from flask_plug.reqlog import MAX_FIELD_LENGTH, REDACTED, RequestLog

if t.TYPE_CHECKING:
    from flask_plug_testing import LiveServers

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# An escaped value: printable ASCII but the quote and the backslash, or an escape.
ESCAPED = r'(?:[ !#-\[\]-~]|\\["\\]|\\x[0-9a-f]{2})'
STRICT_COMBINED = re.compile(
    r"(?P<host>\d{1,3}(?:\.\d{1,3}){3}) - "
    rf"(?P<user>-|(?:[!#-Z\]-~]|\\[\"\\]|\\x[0-9a-f]{{2}})+) "
    rf"\[\d{{2}}/(?:{MONTHS})/\d{{4}}:\d{{2}}:\d{{2}}:\d{{2}} [+-]\d{{4}}\] "
    rf'"(?P<method>[!#-~]+) (?P<target>(?:[!#-\[\]-~]|\\["\\]|\\x[0-9a-f]{{2}})+) '
    r'(?P<protocol>HTTP/1\.[01])" '
    r"(?P<status>[1-5]\d\d) (?P<bytes>[1-9]\d*|-) "
    rf'"(?P<referer>{ESCAPED}*)" "(?P<agent>{ESCAPED}*)"'
)
# goaccess 1.7 reads lines with fgets() into a 4096-byte buffer: a longer line is cut in
# two and both halves fail. The corpus keeps its lines below that; see the xfail below.
GOACCESS_LINE_LIMIT = 4095


@pytest.fixture
def goaccess() -> str:
    path = shutil.which("goaccess")
    if path is None:
        message = "goaccess is not installed (Debian package goaccess)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class Reply(t.NamedTuple):
    status: int
    request_id: str | None
    """The X-Request-ID header: present only on responses the app produced."""


class LiveServer:
    def __init__(self, port: int) -> None:
        self.port = port

    def send(self, raw: bytes) -> Reply | None:
        """Send one raw request on its own connection; ``None`` if no response came."""
        chunks = []
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(raw)
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        head = b"".join(chunks).partition(b"\r\n\r\n")[0]
        status_line, *header_lines = head.split(b"\r\n")
        match = re.fullmatch(rb"HTTP/1\.[01] (\d{3})(?: .*)?", status_line, re.DOTALL)
        if match is None:
            return None
        request_id = None
        for line in header_lines:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"x-request-id":
                request_id = value.strip().decode("latin-1")
        return Reply(int(match[1]), request_id)


@pytest.fixture
def server(app: Flask, reqlog: RequestLog, live_server: LiveServers) -> LiveServer:
    """The conftest app (logging Combined lines to ``log_path``) behind a live server."""

    @app.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
    def anything(rest: str) -> Response:
        user = request.environ.get("HTTP_X_TEST_USER")
        if user is not None:
            request.environ["REMOTE_USER"] = user  # as an auth extension would
        wanted = request.environ.get("HTTP_X_TEST_STATUS", "200")
        status = int(wanted) if wanted.isdigit() else 200
        if status >= 400:
            abort(status)
        size = int(request.environ.get("HTTP_X_TEST_SIZE", "3") or 0)
        return Response(b"x" * size, status=status)

    reqlog.init_app(app)
    port = urlsplit(live_server(app)).port
    assert port is not None
    return LiveServer(port)


def run_goaccess(
    goaccess: str, log: Path, work: Path, log_format: t.Sequence[str] = ("--log-format=COMBINED",)
) -> dict[str, t.Any]:
    report = work / "report.json"
    invalid = work / "invalid.log"
    result = subprocess.run(
        [
            goaccess,
            str(log),
            *log_format,
            "--no-global-config",
            "--no-progress",
            f"--invalid-requests={invalid}",
            "-o",
            str(report),
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    # goaccess percent-decodes URLs into its report, so it holds any byte at all.
    general: dict[str, t.Any] = json.loads(report.read_bytes().decode("latin-1"))["general"]
    general["invalid_lines"] = invalid.read_text("latin-1")[:3000] if invalid.exists() else ""
    return general


# --- the corpus --------------------------------------------------------------------------

NASTY = [
    b'"',
    b"\\",
    b'\\"',
    b"\x01",
    b"\x7f",
    b"\t",
    b"\x00",
    b"\x1b[31m",
    b"%",
    b"%22",
    b"%5C",
    b"%00",
    b"%FF",
    b"[",
    b"]",
    b" - ",
    b"\xc3\xa9",
    b"\xe6\x97\xa5",
    b"\xf0\x9f\x98\x80",
    b"\xff",
    b"\xc3",
    b"\x80\x80",
    b"\xed\xa0\x80",
]
QUERY_NAMES = [b"password", b"token", b"api_key", b"session", b"q", b"page", b"Sig%6Eature"]
SECRET_QUERY_NAMES = {"password", "token", "api_key", "session", "sig%6eature"}
# What Python's http.server splits a request line on (str.split() of its Latin-1 text).
REQUEST_LINE_SPACES = b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0"
METHODS = [b"GET", b"GET", b"GET", b"POST", b"PUT", b"DELETE", b"HEAD", b"OPTIONS", b"BREW"]


def noise(rng: random.Random, size: int, *, forbid: bytes = b"\r\n") -> bytes:
    """Up to ``size`` bytes of nasty fragments, random bytes and plain text."""
    out = bytearray()
    while len(out) < size:
        pick = rng.random()
        if pick < 0.35:
            out += rng.choice(NASTY)
        elif pick < 0.6:
            out += bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        else:
            out += rng.choice([b"abc", b"Mozilla/5.0 ", b"(X11; Linux)", b"/", b"=", b"&", b"?"])
    return bytes(byte for byte in out[:size] if byte not in forbid)


def target(rng: random.Random) -> bytes:
    """A request target; bytes Python's request-line parser splits on are left in on
    purpose now and then, so some requests are refused before the app sees them."""
    forbid = REQUEST_LINE_SPACES if rng.random() < 0.9 else b"\r\n"
    segments = [noise(rng, rng.randint(0, 12), forbid=forbid + b"?#") for _ in range(3)]
    path = b"/" + b"/".join(segments)
    if rng.random() < 0.6:
        pairs = []
        for _ in range(rng.randint(1, 4)):
            name = rng.choice(QUERY_NAMES)
            pairs.append(name + b"=" + noise(rng, rng.randint(0, 16), forbid=forbid + b"&#"))
        path += b"?" + b"&".join(pairs)
    if rng.random() < 0.05:
        path = b"http://127.0.0.1" + path
    return path


def request_id(rng: random.Random) -> bytes:
    pick = rng.random()
    if pick < 0.3:
        return bytes(rng.choice(b"abcdef0123456789-") for _ in range(rng.randint(1, 128)))
    if pick < 0.5:
        return b"a" * rng.choice([128, 129, 500, 2000])
    return noise(rng, rng.randint(1, 200))


def corpus(seed: int, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` raw requests, each with the User-Agent bytes it sends."""
    rng = random.Random(seed)
    requests = []
    for index in range(count):
        method = rng.choice(METHODS)
        protocol = b"HTTP/1.0" if rng.random() < 0.1 else b"HTTP/1.1"
        # Values start with a letter: the header parser strips leading whitespace.
        agent = b"A" + noise(rng, rng.choice([0, 20, 100, 400]))
        if index % 50 == 7:
            agent = b"Mozilla/5.0 " + b"x" * 3000  # long, and the line still fits goaccess
        headers = [b"Host: 127.0.0.1", b"User-Agent: " + agent, b"Connection: close"]
        if rng.random() < 0.7:
            referer = b"http://ref.example/" + noise(rng, rng.randint(0, 120))
            headers.append(b"Referer: " + referer)
        if rng.random() < 0.5:
            headers.append(b"X-Request-ID: " + request_id(rng))
        if rng.random() < 0.3:
            # Users with a space or '[' break goaccess: covered by an xfail below.
            user = noise(rng, rng.randint(0, 20), forbid=b"\r\n [")
            headers.append(b"X-Test-User: u" + user)
        if rng.random() < 0.2:
            headers.append(b"Authorization: Bearer " + noise(rng, 30))  # not in Combined
        if rng.random() < 0.2:
            headers.append(b"X-Test-Status: " + rng.choice([b"201", b"204", b"404", b"500"]))
        if rng.random() < 0.2:
            headers.append(b"X-Test-Size: " + rng.choice([b"0", b"1", b"5000"]))
        body = b""
        if method in (b"POST", b"PUT"):
            body = noise(rng, rng.randint(0, 50), forbid=b"")
            headers.append(b"Content-Length: " + str(len(body)).encode())
        raw = b" ".join([method, target(rng), protocol]) + b"\r\n"
        raw += b"".join(header + b"\r\n" for header in headers) + b"\r\n" + body
        requests.append((raw, agent))
    return requests


def unescape(text: str) -> bytes:
    return re.sub(
        rb'\\(x[0-9a-f]{2}|["\\])',
        lambda m: bytes([int(m[1][1:], 16)]) if m[1].startswith(b"x") else m[1],
        text.encode("ascii"),
    )


# --- tests -------------------------------------------------------------------------------


def test_goaccess_parses_every_line_of_a_fuzzed_corpus(
    goaccess: str,
    server: LiveServer,
    app: Flask,
    reqlog: RequestLog,
    log_path: Path,
    tmp_path: Path,
) -> None:
    requests = corpus(seed=20261125, count=400)
    replies = [(server.send(raw), agent) for raw, agent in requests]
    # Requests the server's parser refused never reached the app, so have no line: the
    # app's responses are the ones carrying the request id.
    received = [(reply, agent) for reply, agent in replies if reply and reply.request_id]
    assert len(received) >= 0.8 * len(requests)
    assert reqlog.flush(app, timeout=10)
    lines = log_path.read_text("utf-8").splitlines()
    assert len(lines) == len(received)

    for line, (reply, agent) in zip(lines, received, strict=True):
        assert len(line) < GOACCESS_LINE_LIMIT
        match = STRICT_COMBINED.fullmatch(line)
        assert match, line
        assert int(match["status"]) == reply.status
        logged = match["agent"]
        if len(logged) == MAX_FIELD_LENGTH and logged.endswith("..."):
            assert agent.startswith(unescape(logged[:-3]))  # cut to fit goaccess's lines
        else:
            assert unescape(logged) == agent
        for pair in match["target"].partition("?")[2].split("&"):
            name, _, value = pair.partition("=")
            if name.lower() in SECRET_QUERY_NAMES:
                assert value == REDACTED, line

    general = run_goaccess(goaccess, log_path, tmp_path)
    assert general["failed_requests"] == 0, general["invalid_lines"]
    assert general["total_requests"] == len(lines) == len(received)
    assert general["valid_requests"] == len(lines)
    logged_bytes = [STRICT_COMBINED.fullmatch(line)["bytes"] for line in lines]  # type: ignore[index]
    assert general["bandwidth"] == sum(int(size) for size in logged_bytes if size != "-")


def test_goaccess_reads_status_and_bytes_of_each_request(
    goaccess: str,
    server: LiveServer,
    app: Flask,
    reqlog: RequestLog,
    log_path: Path,
    tmp_path: Path,
) -> None:
    base = b"Host: x\r\nConnection: close\r\nUser-Agent: t\r\n"
    for status, size in [(b"200", b"10"), (b"200", b"0"), (b"201", b"7"), (b"404", b"0")]:
        raw = b"GET /s HTTP/1.1\r\n" + base + b"X-Test-Status: " + status
        reply = server.send(raw + b"\r\nX-Test-Size: " + size + b"\r\n\r\n")
        assert reply is not None
        assert reply.status == int(status)
    assert reqlog.flush(app, timeout=10)
    matches = [STRICT_COMBINED.fullmatch(line) for line in log_path.read_text("utf-8").splitlines()]
    fields = [(match["status"], match["bytes"]) for match in matches if match]
    assert len(fields) == 4, matches
    assert fields[:3] == [("200", "10"), ("200", "-"), ("201", "7")]
    assert fields[3][0] == "404"
    error_page = int(fields[3][1])
    general = run_goaccess(goaccess, log_path, tmp_path)
    assert general["failed_requests"] == 0, general["invalid_lines"]
    assert general["valid_requests"] == 4
    assert general["unique_not_found"] == 1
    assert general["bandwidth"] == 10 + 7 + error_page


def test_goaccess_parses_a_line_with_an_8kb_user_agent(
    goaccess: str,
    server: LiveServer,
    app: Flask,
    reqlog: RequestLog,
    log_path: Path,
    tmp_path: Path,
) -> None:
    agent = b"Mozilla/5.0 " + b"y" * 8000
    raw = b"GET /long HTTP/1.1\r\nHost: x\r\nConnection: close\r\nUser-Agent: " + agent
    reply = server.send(raw + b"\r\n\r\n")
    assert reply is not None and reply.request_id
    assert reqlog.flush(app, timeout=10)
    general = run_goaccess(goaccess, log_path, tmp_path)
    assert general["failed_requests"] == 0, general["invalid_lines"]
    assert general["total_requests"] == 1


@pytest.mark.parametrize("user", [b"[admin]", b"John Smith"])
def test_user_names_keep_the_line_parseable(
    goaccess: str,
    server: LiveServer,
    app: Flask,
    reqlog: RequestLog,
    log_path: Path,
    tmp_path: Path,
    user: bytes,
) -> None:
    raw = b"GET /me HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Test-User: " + user
    reply = server.send(raw + b"\r\n\r\n")
    assert reply is not None and reply.status == 200
    assert reqlog.flush(app, timeout=10)
    (line,) = log_path.read_text("utf-8").splitlines()
    general = run_goaccess(goaccess, log_path, tmp_path)
    assert general["failed_requests"] == 0, line
    assert STRICT_COMBINED.fullmatch(line), line


# What docs/reqlog.md tells goaccess users: COMBINED reads combined+id as it is; COMMON
# would take the id for a part of the size and count no bytes, so common+id needs its
# format spelled out with %^ (skip a field) for the id.
GOACCESS_OPTIONS = {
    "combined+id": ["--log-format=COMBINED"],
    "common+id": [
        '--log-format=%h %^[%d:%t %^] "%r" %s %b %^',
        "--date-format=%d/%b/%Y",
        "--time-format=%T",
    ],
}


@pytest.fixture(params=["combined+id", "common+id"])
def id_format(request: pytest.FixtureRequest, app: Flask) -> str:
    """A named format with the request id at the end, set before ``server`` registers."""
    app.config["REQLOG_FORMAT"] = request.param
    return t.cast(str, request.param)


def test_goaccess_reads_the_id_formats_as_its_named_formats(
    goaccess: str,
    id_format: str,
    server: LiveServer,
    app: Flask,
    reqlog: RequestLog,
    log_path: Path,
    tmp_path: Path,
) -> None:
    replies = [server.send(raw) for raw, _ in corpus(seed=20270119, count=150)]
    received = [reply for reply in replies if reply and reply.request_id]
    assert len(received) >= 0.8 * len(replies)
    assert reqlog.flush(app, timeout=10)
    lines = log_path.read_text("utf-8").splitlines()
    assert len(lines) == len(received)
    sizes = []
    for line, reply in zip(lines, received, strict=True):
        assert reply.request_id is not None
        line_without_id, _, logged_id = line.rpartition(" ")
        assert logged_id == reply.request_id
        if id_format == "combined+id":
            match = STRICT_COMBINED.fullmatch(line_without_id)
            assert match, line
            sizes.append(match["bytes"])
        else:
            sizes.append(line_without_id.rpartition(" ")[2])  # Common ends with %b
    general = run_goaccess(goaccess, log_path, tmp_path, GOACCESS_OPTIONS[id_format])
    assert general["failed_requests"] == 0, general["invalid_lines"]
    assert general["valid_requests"] == len(lines)
    assert general["bandwidth"] == sum(int(size) for size in sizes if size != "-")


def test_the_docs_give_goaccess_these_options() -> None:
    page = Path(__file__).resolve().parents[3] / "docs" / "reqlog.md"
    if not page.exists():
        pytest.skip("the docs page is not beside this package (an installed wheel's tests)")
    text = page.read_text("utf-8")
    log_format, date_format, time_format = GOACCESS_OPTIONS["common+id"]
    quoted = "--log-format='" + log_format.removeprefix("--log-format=") + "'"
    assert f"{quoted} {date_format} {time_format}" in text
    assert "`combined+id` lines are read the same way, with `--log-format=COMBINED`" in text
