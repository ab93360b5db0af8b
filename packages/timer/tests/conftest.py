from __future__ import annotations

import re
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest
from flask import Flask

from flask_plug.timer import Timer

if t.TYPE_CHECKING:
    from flask.testing import FlaskClient


@pytest.fixture
def timer() -> Timer:
    return Timer()


@pytest.fixture
def app(timer: Timer) -> Flask:
    app = Flask(__name__)
    app.config["TIMER_SPANS"] = True
    timer.init_app(app)

    @app.get("/")
    def index() -> dict[str, str]:
        return {"hello": "world"}

    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# A strict reader of the W3C Server-Timing grammar (RFC 9110 tokens and quoted-strings),
# so the tests read headers the way a browser must, not the way the code wrote them.
_TCHAR = re.escape("!#$%&'*+-.^_`|~") + "0-9A-Za-z"
_TOKEN = re.compile(f"[{_TCHAR}]+")
_QUOTED = re.compile(r'"((?:[\t !#-\[\]-~\x80-\xff]|\\[\t -~\x80-\xff])*)"')
_OWS = re.compile(r"[ \t]*")


def parse_server_timing(*fields: str) -> list[dict[str, str]]:
    """Parse ``Server-Timing`` field values into ``[{"name": ..., param: value}]``.

    Raises ``ValueError`` on anything the grammar does not allow. Quoted values are
    unescaped; their bytes stand for Latin-1 characters, as browsers read them.
    """
    return [metric for field in fields for metric in _parse_field(field)]


def _parse_field(field: str) -> list[dict[str, str]]:
    pos = 0

    def expect(pattern: re.Pattern[str]) -> re.Match[str]:
        nonlocal pos
        match = pattern.match(field, pos)
        if match is None or (pattern is not _OWS and match.end() == pos):
            raise ValueError(f"bad Server-Timing at {pos}: {field!r}")
        pos = match.end()
        return match

    metrics: list[dict[str, str]] = []
    while True:
        expect(_OWS)
        metric = {"name": expect(_TOKEN).group()}
        expect(_OWS)
        while field.startswith(";", pos):
            pos += 1
            expect(_OWS)
            param = expect(_TOKEN).group().lower()
            expect(_OWS)
            if not field.startswith("=", pos):
                raise ValueError(f"param {param!r} without a value in {field!r}")
            pos += 1
            expect(_OWS)
            if field.startswith('"', pos):
                value = re.sub(r"\\(.)", r"\1", expect(_QUOTED).group(1))
            else:
                value = expect(_TOKEN).group()
            metric.setdefault(param, value)
            expect(_OWS)
        metrics.append(metric)
        if pos == len(field):
            return metrics
        if field[pos] != ",":
            raise ValueError(f"expected ',' at {pos} in {field!r}")
        pos += 1


@pytest.fixture(scope="session")
def parse() -> t.Callable[..., list[dict[str, str]]]:
    return parse_server_timing


@pytest.fixture(scope="session")
def _otel_exporter() -> t.Any:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    # The global provider can be set once per process: join one set before, if any.
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture
def otel_spans(_otel_exporter: t.Any) -> t.Iterator[t.Any]:
    """The OpenTelemetry SDK's ``InMemorySpanExporter``, behind the global tracer provider:
    ``otel_spans.get_finished_spans()`` are the spans ended during the test."""
    _otel_exporter.clear()
    yield _otel_exporter
    _otel_exporter.clear()


DOCS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "timer.md"


def docs_example(checked_by: str) -> tuple[str, list[str]]:
    """The ``python`` block of docs/timer.md that runs as ``python app.py`` in the console
    block marked ``<!-- skip: next "checked by <checked_by>, ..." -->``, and that console
    block's output lines. The page's other examples run in the root conftest's runner; these
    set up what a process has once (logging, OpenTelemetry's tracer provider)."""
    if not DOCS_PAGE.exists():
        pytest.skip("docs/timer.md is not here (testing an installed wheel)")
    text = DOCS_PAGE.read_text(encoding="utf-8")
    before, marker, after = text.partition(f'<!-- skip: next "checked by {checked_by}')
    assert marker, f"docs/timer.md has no console block checked by {checked_by}"
    code = before.rpartition("```python\n")[2].partition("```")[0]
    console = after.partition("```console\n")[2].partition("```")[0].splitlines()
    assert console[0] == "$ python app.py", console
    return code, console[1:]


def run_script(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` as ``python app.py`` in a fresh interpreter."""
    (tmp_path / "app.py").write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "app.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
