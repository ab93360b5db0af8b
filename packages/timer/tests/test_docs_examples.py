"""The examples of the README and of the docs page (docs/timer.md) run as written and print
what the page shows after them.

A block right after ``<!-- example: NAME -->`` is named; every ``python`` block must be.
Each runs as the body of a module of its own, as a file pasted from the page would; the
``console`` block after it is what it must print, durations aside. The examples that set
up process-wide state (logging, OpenTelemetry's tracer provider) run in a fresh
interpreter (see also ``test_log_setup.py``).
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import types
import typing as t
from pathlib import Path

import pytest

from .conftest import parse_server_timing

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
DOCS_PAGE = HERE.parents[2] / "docs" / "timer.md"
BLOCK = re.compile(r"(?:<!-- example: ([\w-]+) -->\n)?```(\w+)\n(.*?)^```", re.DOTALL | re.M)
DURATION = re.compile(r"\d+\.\d{3}")


class Block(t.NamedTuple):
    name: str | None
    language: str
    code: str


def readme() -> str:
    if README.exists():
        return README.read_text(encoding="utf-8")
    # Tests run against the installed wheel (dist:check): its description is the README.
    description = importlib.metadata.metadata("flask-plug-timer").json["description"]
    assert isinstance(description, str)
    return description


def docs_page() -> str:
    if not DOCS_PAGE.exists():
        pytest.skip("docs/timer.md is not here (testing an installed wheel)")
    return DOCS_PAGE.read_text(encoding="utf-8")


def blocks(text: str) -> list[Block]:
    return [Block(*match) for match in BLOCK.findall(text)]


def named(text: str, name: str) -> tuple[Block, Block | None]:
    """The python block named ``name`` and the console block right after it, if any."""
    found = blocks(text)
    [index] = [i for i, block in enumerate(found) if block.name == name]
    after = found[index + 1] if index + 1 < len(found) else None
    return found[index], after if after is not None and after.language == "console" else None


def run(
    block: Block, monkeypatch: pytest.MonkeyPatch, namespace: dict[str, t.Any] | None = None
) -> dict[str, t.Any]:
    """Run ``block`` as the module ``app``, as a reader who saved it as app.py would."""
    module = types.ModuleType("app")
    module.__dict__.update(namespace or {})
    monkeypatch.setitem(sys.modules, "app", module)
    exec(compile(block.code, f"<example {block.name}>", "exec"), module.__dict__)
    return module.__dict__


def run_script(block: Block, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``block`` as ``python app.py`` in a fresh interpreter."""
    (tmp_path / "app.py").write_text(block.code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def same_metrics(shown: str, printed: str) -> None:
    """The printed ``Server-Timing`` has the metrics shown: names and descriptions, in order."""

    def shape(header: str) -> list[tuple[str, str | None]]:
        return [(m["name"], m.get("desc")) for m in parse_server_timing(header)]

    assert shape(printed.strip()) == shape(shown.strip())


def test_every_python_example_is_named_and_run_here() -> None:
    assert [b.name for b in blocks(readme()) if b.language == "python"] == [
        "quickstart",
        "signal",
    ]
    assert [b.name for b in blocks(docs_page()) if b.language == "python"] == [
        "sharing",
        "start-stop",
        "threads",
        "sqlalchemy",
        "log",  # run by test_log_setup.py
        "otel",
    ]


def test_quickstart_sends_what_curl_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    block, console = named(readme(), "quickstart")
    app = run(block, monkeypatch)["create_app"]()
    assert console is not None
    shown = console.code.splitlines()[-1].removeprefix("Server-Timing: ")
    same_metrics(shown, app.test_client().get("/users/1").headers["Server-Timing"])


def test_signal_receiver_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    app = run(named(readme(), "quickstart")[0], monkeypatch)["create_app"]()
    namespace = run(named(readme(), "signal")[0], monkeypatch, {"app": app})
    assert namespace["slow_requests"] is not None
    assert app.test_client().get("/users/1").status_code == 200


def test_sharing_a_span_object(monkeypatch: pytest.MonkeyPatch) -> None:
    run(named(docs_page(), "sharing")[0], monkeypatch)  # it asserts what it shows


@pytest.mark.parametrize("name", ["start-stop", "threads"])
def test_examples_print_the_header_shown(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    block, console = named(docs_page(), name)
    namespace = run(block, monkeypatch)
    if "engine" in namespace:
        namespace["engine"].dispose()
    assert console is not None
    same_metrics(console.code, capsys.readouterr().out)


def test_sqlalchemy_example(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    block, console = named(docs_page(), "sqlalchemy")
    namespace = run(block, monkeypatch)
    with namespace["app"].app_context():
        for engine in namespace["db"].engines.values():
            engine.dispose()
    assert console is not None
    same_metrics(console.code, capsys.readouterr().out)


def test_otel_example(tmp_path: Path) -> None:
    block, console = named(docs_page(), "otel")
    result = run_script(block, tmp_path)
    assert result.returncode == 0, result.stderr
    assert console is not None
    header, *spans = result.stdout.splitlines()
    shown_header, *shown_spans = console.code.splitlines()
    same_metrics(shown_header, header)
    assert [DURATION.sub("N", line) for line in spans] == [
        DURATION.sub("N", line) for line in shown_spans
    ]
