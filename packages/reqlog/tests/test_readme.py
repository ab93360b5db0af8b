"""The examples of the README and of the docs page (docs/reqlog.md) run as written, and
do what the text around them says.

A block right after ``<!-- example: NAME -->`` is named. The README's quick start runs
in a process of its own, as ``app.py`` (it configures logging, which a test must not do
to its own process); the docs page's ``python`` blocks each run as the body of a module
of their own.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import re
import subprocess
import sys
import types
import typing as t
from pathlib import Path

import pytest
from flask import Flask, request

from flask_plug.reqlog import RequestLog

if t.TYPE_CHECKING:
    from flask_plug_testing import LiveServers

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
DOCS_PAGE = HERE.parents[2] / "docs" / "reqlog.md"
BLOCK = re.compile(r"(?:<!-- example: ([\w-]+) -->\n)?```(\w+)\n(.*?)^```", re.DOTALL | re.M)
HEX32 = r"[0-9a-f]{32}"


class Block(t.NamedTuple):
    name: str | None
    language: str
    code: str


def readme() -> str:
    if README.exists():
        return README.read_text(encoding="utf-8")
    # Tests run against the installed wheel (dist:check): its description is the README.
    description = importlib.metadata.metadata("flask-plug-reqlog").json["description"]
    assert isinstance(description, str)
    return description


def docs_page() -> str:
    if not DOCS_PAGE.exists():
        pytest.skip("the docs page is not beside this package (an installed wheel's tests)")
    return DOCS_PAGE.read_text(encoding="utf-8")


def blocks(text: str) -> list[Block]:
    return [Block(*match) for match in BLOCK.findall(text)]


def named(text: str, name: str) -> Block:
    [block] = [block for block in blocks(text) if block.name == name]
    return block


def run(block: Block, monkeypatch: pytest.MonkeyPatch) -> dict[str, t.Any]:
    """Run ``block`` as the module ``app``, as a reader who saved it as app.py would."""
    module = types.ModuleType("app")
    monkeypatch.setitem(sys.modules, "app", module)
    exec(compile(block.code, f"<example {block.name}>", "exec"), module.__dict__)
    return module.__dict__


@pytest.fixture(autouse=True)
def close_example_apps() -> t.Iterator[list[Flask]]:
    """Every app an example registers is closed afterwards (its writer thread stopped)."""
    apps: list[Flask] = []
    yield apps
    for app in apps:
        RequestLog().close(app)


# --- the README ----------------------------------------------------------------------------


def test_the_quick_start_logs_the_request_id_on_the_apps_records(tmp_path: Path) -> None:
    text = readme()
    (tmp_path / "app.py").write_text(named(text, "quickstart").code, encoding="utf-8")
    client = (
        "from app import create_app\n"
        "with create_app().test_client().get('/') as response:\n"
        "    print(response.headers['X-Request-ID'], response.json['request_id'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", client],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    header, body = result.stdout.split()
    assert re.fullmatch(HEX32, header) and body == header
    # The record the README shows, with this request's id.
    shown = named(text, "quickstart-output").code.strip()
    assert re.fullmatch(HEX32 + " INFO app: hello", shown), shown
    assert result.stderr.splitlines() == [f"{header} INFO app: hello"]
    # And the access line, in the instance folder.
    (line,) = (tmp_path / "instance" / "access.log").read_text("utf-8").splitlines()
    assert re.fullmatch(r'127\.0\.0\.1 - - \[[^]]+\] "GET / HTTP/1\.1" 200 \d+ "-" "[^"]*"', line)


# --- the docs page -------------------------------------------------------------------------


def docs_blocks() -> list[Block]:
    if not DOCS_PAGE.exists():
        return []
    return [block for block in blocks(DOCS_PAGE.read_text("utf-8")) if block.language == "python"]


@pytest.mark.parametrize("block", docs_blocks(), ids=lambda block: block.name or "unnamed")
def test_every_python_block_of_the_docs_page_runs(
    block: Block, monkeypatch: pytest.MonkeyPatch, close_example_apps: list[Flask]
) -> None:
    if "dictConfig(" in block.code:
        # It configures logging for the whole process: run it in one of its own, then log.
        code = block.code + "\nimport logging\nlogging.getLogger('lib').info('outside')\n"
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
        )
        assert re.fullmatch(r"\S+ \S+ - INFO lib: outside\n", result.stderr), result.stderr
        return
    namespace = run(block, monkeypatch)
    close_example_apps.extend(
        value for value in namespace.values() if isinstance(value, Flask) and value.extensions
    )


def test_extra_fields_are_on_the_json_line_as_shown(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    close_example_apps: list[Flask],
) -> None:
    text = docs_page()
    example = run(named(text, "extra-fields"), monkeypatch)
    app: Flask = example["app"]
    close_example_apps.append(app)
    headers = {"X-Tenant": "acme", "User-Agent": "curl/8.5.0"}
    with app.test_client().get("/notes", headers=headers) as response:
        assert response.json == {"notes": []}
    assert example["reqlog"].flush(app, timeout=10)
    (line,) = capsys.readouterr().out.splitlines()
    logged = json.loads(line)
    shown = json.loads(named(text, "extra-fields-output").code)
    assert list(logged) == list(shown)
    different = {"time", "request_id", "duration_ms"}
    assert {k: v for k, v in logged.items() if k not in different} == {
        k: v for k, v in shown.items() if k not in different
    }


def test_request_ids_are_read_from_the_listed_headers(
    monkeypatch: pytest.MonkeyPatch, close_example_apps: list[Flask]
) -> None:
    app: Flask = run(named(docs_page(), "request-id-from"), monkeypatch)["app"]
    close_example_apps.append(app)

    @app.get("/")
    def index() -> str:
        return "ok"

    client = app.test_client()

    def request_id(headers: dict[str, str]) -> str:
        with client.get("/", headers=headers) as response:  # closed: the request ends
            return response.headers["X-Request-ID"]

    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    amzn = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"
    both = {"traceparent": traceparent, "X-Amzn-Trace-Id": amzn}
    assert request_id(both) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert request_id({"X-Amzn-Trace-Id": amzn}) == "1-5759e988-bd862e3fe1be46a994272793"
    assert request_id({"X-Request-ID": "req-1", **both}) == "req-1"


def test_threads_log_with_the_request_id(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    close_example_apps: list[Flask],
) -> None:
    example = run(named(docs_page(), "threads"), monkeypatch)
    app: Flask = example["app"]
    close_example_apps.append(app)
    with caplog.at_level(logging.WARNING, logger=app.logger.name):
        with app.test_client().post("/images/7") as response:
            response.get_data()
        example["pool"].shutdown(wait=True)
    assert response.status_code == 202
    request_id = response.headers["X-Request-ID"]
    assert response.json == {"request_id": request_id}
    (record,) = [r for r in caplog.records if r.name == app.logger.name]
    assert record.getMessage() == f"resizing image 7 for request {request_id}"
    assert vars(record)["request_id"] == request_id


def test_outgoing_calls_carry_the_request_id(
    monkeypatch: pytest.MonkeyPatch, live_server: LiveServers, close_example_apps: list[Flask]
) -> None:
    inventory = Flask("inventory")

    @inventory.get("/<path:anything>")
    def echo(anything: str) -> dict[str, str]:
        return {"path": anything, "request_id": request.headers.get("X-Request-ID", "")}

    example = run(named(docs_page(), "outgoing"), monkeypatch)
    example["INVENTORY"] = live_server(inventory)  # instead of http://inventory.internal
    app: Flask = example["app"]
    close_example_apps.append(app)
    client = app.test_client()
    for path in ["stock/sku-1", "price/sku-1", "reviews/sku-1"]:
        with client.get(f"/{path}", headers={"X-Request-ID": f"req-{path}"}) as response:
            assert response.json == {"path": path, "request_id": f"req-{path}"}
    example["session"].close()
    example["client"].close()
